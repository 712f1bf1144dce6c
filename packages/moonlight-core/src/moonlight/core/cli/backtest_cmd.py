"""``moonlight backtest CONFIG --data FILE [--data FILE…] --report DIR``.

Runs the real engine -- workers, strategies, ensemble, risk, executor, paper broker --
on a simulated clock over the candle files, with a progress bar, then writes
``DIR/summary.json`` and ``DIR/report.html``. Orders are stored under the run id
(default storage: ``DIR/backtest.db``; ``--storage-url`` to use another database).

``--data`` takes ``PATH`` or ``INSTRUMENT=PATH``. A bare path is named after its file
(``EURUSD_M1_2017.csv.gz`` → EURUSD), or after the configuration's only product when
there is one file and one product.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import click

from moonlight.core.backtest.plugin import with_replay
from moonlight.core.backtest.progress import ProgressBar
from moonlight.core.backtest.runner import BacktestError, backtest_to_directory
from moonlight.core.config import ConfigError, MoonlightConfig, load_config
from moonlight.core.data.candles import CandleSeries
from moonlight.core.data.errors import DataError
from moonlight.core.data.load import FORMATS, load_candles

#: Summary figures echoed at the end of a run.
HEADLINE = (
    "bars",
    "trades",
    "win_rate",
    "breakeven_win_rate",
    "pnl",
    "max_drawdown",
    "verdict",
)


def _moment(text: str | None, option: str) -> float | None:
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(
            f"{text!r} is not an ISO date or time", param_hint=option
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _products(config: MoonlightConfig) -> list[str]:
    return sorted({p for account in config.accounts for p in account.products})


def _load(
    specs: tuple[str, ...],
    config: MoonlightConfig,
    *,
    data_format: str,
    timezone: str | None,
    timeframe: str | None,
    strict: bool,
) -> list[CandleSeries]:
    products = _products(config)
    loaded: list[CandleSeries] = []
    for spec in specs:
        name, sep, path_text = spec.partition("=")
        instrument: str | None = name if sep and not Path(spec).exists() else None
        path = Path(path_text if instrument else spec)
        if not path.is_file():
            raise click.BadParameter(f"no such file: {path}", param_hint="--data")
        if instrument is None and len(specs) == 1 and len(products) == 1:
            instrument = products[0]
        loaded.append(
            load_candles(
                path,
                format=data_format,  # type: ignore[arg-type]
                instrument=instrument,
                timeframe=timeframe,
                timezone=timezone,
                strict=strict,
            )
        )
    return loaded


@click.command("backtest")
@click.argument("config_file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option(
    "--data",
    "data_specs",
    multiple=True,
    required=True,
    help="Candle file, PATH or INSTRUMENT=PATH (CSV/HistData/MetaTrader, gzip ok; Parquet)."
    " Repeatable.",
)
@click.option(
    "--report",
    "report_dir",
    required=True,
    type=click.Path(path_type=Path, file_okay=False),
    help="Directory for summary.json, report.html (and backtest.db by default).",
)
@click.option(
    "--format", "data_format", type=click.Choice(FORMATS), default="auto", show_default=True
)
@click.option("--timezone", help="Timezone of naive times in the files (IANA name).")
@click.option("--timeframe", help="Bar timeframe of the files (default: inferred).")
@click.option("--start", help="First bar time to replay (ISO, UTC unless an offset is given).")
@click.option("--end", help="Last bar close to replay (ISO, UTC unless an offset is given).")
@click.option("--payout-pct", type=click.FloatRange(min=0, min_open=True), help="Payout, %.")
@click.option(
    "--starting-balance",
    default=10_000.0,
    show_default=True,
    type=click.FloatRange(min=0, min_open=True),
)
@click.option("--storage-url", help="Where orders are stored (default: DIR/backtest.db).")
@click.option("--run-id", help="Run id (default: backtest-<random>).")
@click.option("--lenient", is_flag=True, help="Replay files with OHLC problems (reported).")
@click.option(
    "--strict",
    is_flag=True,
    help="Fail when a configured product has no data or a timeframe cannot be built from"
    " it (default: skip them with one warning).",
)
@click.option("--no-progress", is_flag=True, help="No progress bar.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def backtest_cmd(
    config_file: Path,
    data_specs: tuple[str, ...],
    report_dir: Path,
    data_format: str,
    timezone: str | None,
    timeframe: str | None,
    start: str | None,
    end: str | None,
    payout_pct: float | None,
    starting_balance: float,
    storage_url: str | None,
    run_id: str | None,
    lenient: bool,
    strict: bool,
    no_progress: bool,
    as_json: bool,
) -> None:
    """Backtest CONFIG on candle files with the real engine; write a summary and report."""
    host = with_replay()
    try:
        config = load_config(config_file, registry=host.registry)
    except ConfigError as exc:
        click.echo(f"{config_file}: {len(exc.issues)} problem(s)", err=True)
        for issue in exc.issues:
            click.echo(f"  - {issue}", err=True)
        raise SystemExit(1) from None
    first, last = _moment(start, "--start"), _moment(end, "--end")
    try:
        series = _load(
            data_specs,
            config,
            data_format=data_format,
            timezone=timezone,
            timeframe=timeframe,
            strict=not lenient,
        )
        series = [s.between(first, last) for s in series]
        progress = None if no_progress else ProgressBar()
        try:
            result = backtest_to_directory(
                config,
                series,
                report_dir,
                host=host,
                storage_url=storage_url,
                run_id=run_id,
                starting_balance=starting_balance,
                payout_pct=payout_pct,
                progress=progress,
                strict=strict,
                warn=lambda message: click.echo(f"warning: {message}", err=True),
            )
        finally:
            if progress is not None:
                progress.close()
    except (DataError, BacktestError) as error:
        raise click.ClickException(str(error)) from None
    summary = result.summary
    if as_json:
        click.echo(json.dumps(summary, indent=2, default=str))
        return
    figures = "  ".join(f"{key}={summary.get(key)}" for key in HEADLINE)
    click.echo(f"run {result.run_id}: {figures}")
    click.echo(f"wrote {report_dir / 'summary.json'} and {report_dir / 'report.html'}")
