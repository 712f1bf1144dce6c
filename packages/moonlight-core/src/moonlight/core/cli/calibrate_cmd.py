"""``moonlight calibrate``: refit the Platt calibration and print how honest p̂ is.

Two sources of (S, outcome) pairs:

* **stored** (default) -- the shadow outcome of every recorded decision (traded or not;
  backtest runs excluded) and every settled order with a score that has no decision
  record (orders from before decisions were recorded), in the configured storage;
  fits per (instrument, timeframe) and globally, saves them, and prints each fit's
  reliability on the pairs it was fitted on.
* **--csv FILE** (repeatable) -- candle histories: the configured strategies (all
  registered ones when the configuration lists none) run vectorised over each file,
  the vote gives S, outcomes come from the close ``--expiry-bars`` later; the fit uses
  the first part of each file and the reliability is scored on the last ``--holdout``
  part (out of sample). ``--per-strategy`` also reports each strategy alone.

Fits are saved to the ``calibrations`` table with their data range unless
``--no-save``; ``--json`` prints machine-readable figures. A CSV's instrument is named
from its file the way ``moonlight backtest`` names it. When no fit can be made (too few
pairs) the command says so and exits with status 1.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from moonlight.core.config import ConfigError, MoonlightConfig, load_config
from moonlight.core.data.load import instrument_from_name
from moonlight.core.ensemble.book import CalibrationBook, ScoredOutcomes, fit_book
from moonlight.core.ensemble.history import read_candles_csv
from moonlight.core.ensemble.offline import FitEvaluation, HistoryCalibration, calibrate_history
from moonlight.core.ensemble.platt import Calibration
from moonlight.core.ensemble.reliability import reliability_report
from moonlight.core.ensemble.store import save_book, shadow_outcomes, stored_outcomes
from moonlight.core.plugins import build_plugin_host
from moonlight.core.plugins.registry import Registry
from moonlight.core.strategy.factory import StrategyBuildError, all_registered, build_strategies
from moonlight.core.strategy.host import StrategyHost
from moonlight.core.strategy.indicators import RegistryIndicatorSource
from moonlight.core.timeframes import timeframe_seconds


@click.command("calibrate")
@click.argument(
    "config_file", required=False, type=click.Path(path_type=Path, dir_okay=False, exists=True)
)
@click.option(
    "--csv",
    "csv_files",
    multiple=True,
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="Candle CSV (timestamp,open,high,low,close,volume; .gz ok). Repeatable.",
)
@click.option(
    "--instrument",
    help="Instrument name for a single --csv (default: from the file name, as `moonlight"
    " backtest` names it: EURUSD_M1_2017H1_histdata.csv.gz → EURUSD).",
)
@click.option("--timeframe", default="1m", show_default=True, help="Bar timeframe of the CSV.")
@click.option(
    "--expiry-bars",
    default=1,
    show_default=True,
    type=click.IntRange(1, 1000),
    help="Contract duration in bars (entry at a close, exit at a later close).",
)
@click.option(
    "--holdout",
    default=0.3,
    show_default=True,
    type=click.FloatRange(0.05, 0.95),
    help="Last fraction of each CSV used only to score the fit.",
)
@click.option("--per-strategy", is_flag=True, help="Also calibrate and score each strategy.")
@click.option(
    "--save/--no-save",
    default=True,
    show_default=True,
    help="Store the fits in the calibrations table.",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def calibrate_cmd(
    config_file: Path | None,
    csv_files: tuple[Path, ...],
    instrument: str | None,
    timeframe: str,
    expiry_bars: int,
    holdout: float,
    per_strategy: bool,
    save: bool,
    as_json: bool,
) -> None:
    """Refit the ensemble's Platt calibration and print Brier, log loss, ECE and a table."""
    try:
        timeframe_seconds(timeframe)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--timeframe") from None
    if instrument and len(csv_files) != 1:
        raise click.BadParameter("--instrument needs exactly one --csv", param_hint="--instrument")
    host = build_plugin_host()
    try:
        config = load_config(config_file, registry=host.registry)
    except ConfigError as exc:
        for issue in exc.issues:
            click.echo(f"  - {issue}", err=True)
        raise SystemExit(1) from None
    if csv_files:
        book = _from_csv(
            config,
            host.registry,
            csv_files,
            instrument,
            timeframe,
            expiry_bars,
            holdout,
            per_strategy,
            as_json,
        )
    else:
        book = _from_storage(config, as_json)
    if not book.all_fits():
        click.echo(
            "no fit: too few decided (S, outcome) pairs (ensemble.calibration.min_samples ="
            f" {config.ensemble.calibration.min_samples}); nothing saved",
            err=True,
        )
        raise SystemExit(1)
    if save:
        from moonlight.core.storage.engine import engine_from_config, session_factory
        from moonlight.core.storage.migrate import upgrade

        engine = engine_from_config(config)
        try:
            upgrade(engine)
            with session_factory(engine)() as session:
                save_book(session, book)
                session.commit()
        finally:
            engine.dispose()
        if not as_json:
            click.echo(f"saved {len(book.all_fits())} fit(s) to {config.storage_url()}")


def _from_storage(config: MoonlightConfig, as_json: bool) -> CalibrationBook:
    from moonlight.core.storage.engine import engine_from_config, session_factory
    from moonlight.core.storage.migrate import upgrade

    engine = engine_from_config(config)
    try:
        upgrade(engine)
        with session_factory(engine)() as session:
            shadows, traded = shadow_outcomes(session)
            orders = stored_outcomes(session, exclude=traded)
            pairs = ScoredOutcomes.concat([shadows, orders])
    finally:
        engine.dispose()
    settings = config.ensemble.calibration
    if len(pairs) < settings.min_samples:
        message = (
            f"only {len(pairs)} decided (S, outcome) pairs in storage; at least"
            f" {settings.min_samples} (ensemble.calibration.min_samples) are needed to fit --"
            " p̂ stays on the conservative unfitted mapping (0.5)"
        )
        click.echo(json.dumps({"pairs": len(pairs), "fits": []}) if as_json else message)
        return CalibrationBook(min_samples=settings.min_samples)
    book = fit_book(pairs, min_samples=settings.min_samples, regularisation=settings.regularisation)
    fits = [_fit_figures(fit, pairs) for fit in book.all_fits()]
    if as_json:
        plain = [{k: v for k, v in f.items() if k != "text"} for f in fits]
        click.echo(json.dumps({"pairs": len(pairs), "fits": plain}, indent=2, default=str))
    else:
        click.echo(f"{len(pairs)} decided (S, outcome) pairs from storage (in-sample figures)")
        for fit, figures in zip(book.all_fits(), fits, strict=True):
            click.echo(
                f"\n{figures['scope']}: A={fit.a:.4f} B={fit.b:.4f}  n={fit.n_samples}"
                f"  data {fit.data_from} → {fit.data_to}"
            )
            click.echo(str(figures["text"]))
    return book


def _fit_figures(fit: Calibration, pairs: ScoredOutcomes) -> dict[str, object]:
    if fit.instrument is None:
        subset, scope = pairs, "global"
    else:
        mask = (pairs.instrument == fit.instrument) & (pairs.timeframe == fit.timeframe)
        subset, scope = pairs.select(mask), f"{fit.instrument} {fit.timeframe}"
    report = reliability_report(fit.p_up_array(subset.score), subset.up)
    return {
        "scope": scope,
        "a": fit.a,
        "b": fit.b,
        "report": report.to_dict(),
        "text": report.format(),
    }


def _from_csv(
    config: MoonlightConfig,
    registry: Registry,
    csv_files: tuple[Path, ...],
    instrument: str | None,
    timeframe: str,
    expiry_bars: int,
    holdout: float,
    per_strategy: bool,
    as_json: bool,
) -> CalibrationBook:
    entries = list(config.strategies) or all_registered(registry)
    if not entries:
        raise click.ClickException("no strategy configured and none registered by any plugin")
    try:
        built = build_strategies(entries, registry)
    except StrategyBuildError as exc:
        raise click.ClickException(str(exc)) from None
    source = RegistryIndicatorSource(registry)
    settings = config.ensemble.calibration
    results: list[HistoryCalibration] = []
    for path in csv_files:
        name = instrument or instrument_from_name(path)
        candles = read_candles_csv(path)
        hosts = [StrategyHost(strategy, label=entry.name) for entry, strategy in built]
        results.append(
            calibrate_history(
                candles,
                hosts,
                [entry.weight for entry, _ in built],
                instrument=name,
                timeframe=timeframe,
                source=source,
                expiry_bars=expiry_bars,
                holdout=holdout,
                learned=config.ensemble.weighting == "learned",
                min_samples=settings.min_samples,
                regularisation=settings.regularisation,
            )
        )
    if as_json:
        click.echo(
            json.dumps([_history_json(r, per_strategy) for r in results], indent=2, default=str)
        )
    else:
        for result in results:
            _print_history(result, per_strategy)
    train = ScoredOutcomes.concat([r.ensemble.train_pairs for r in results])
    if len(train) < settings.min_samples:
        return CalibrationBook(min_samples=settings.min_samples)
    return fit_book(train, min_samples=settings.min_samples, regularisation=settings.regularisation)


def _history_json(result: HistoryCalibration, per_strategy: bool) -> dict[str, object]:
    out: dict[str, object] = {
        "instrument": result.instrument,
        "timeframe": result.timeframe,
        "bars": result.bars,
        "split_bar": result.split_bar,
        "weights": list(result.weights),
        "ensemble": result.ensemble.summary(),
    }
    if per_strategy:
        out["strategies"] = [e.summary() for e in result.strategies]
    return out


def _print_history(result: HistoryCalibration, per_strategy: bool) -> None:
    click.echo(
        f"{result.instrument} {result.timeframe}: {result.bars} bars; fit on bars"
        f" [0, {result.split_bar}), scored out of sample on [{result.split_bar}, {result.bars})"
    )
    click.echo("weights: " + ", ".join(f"{w:.3g}" for w in result.weights))
    _print_evaluation(result.ensemble)
    if per_strategy:
        click.echo(
            f"\n  {'strategy':<22} {'train':>7} {'test':>7} {'hit':>6} {'Brier':>8}"
            f" {'log loss':>8} {'ECE':>7}  A, B"
        )
        for evaluation in (result.ensemble, *result.strategies):
            click.echo("  " + _row(evaluation))
    click.echo("")


def _print_evaluation(evaluation: FitEvaluation) -> None:
    cal = evaluation.calibration
    state = f"A={cal.a:.4f} B={cal.b:.4f}" if cal.fitted else "not fitted (too few pairs)"
    click.echo(f"ensemble: {len(evaluation.train_pairs)} training pairs, {state}")
    if evaluation.report is None:
        click.echo("  no hold-out pairs to score")
    else:
        click.echo("hold-out reliability of p̂(up):")
        click.echo(evaluation.report.format())


def _row(evaluation: FitEvaluation) -> str:
    report = evaluation.report
    cal = evaluation.calibration
    head = (
        f"{evaluation.label:<22} {len(evaluation.train_pairs):>7} {len(evaluation.test_pairs):>7}"
    )
    if report is None or evaluation.hit_rate is None:
        return head + "  (no hold-out signals)"
    fit = f"{cal.a:.3f}, {cal.b:.3f}" if cal.fitted else "unfitted"
    return (
        f"{head} {evaluation.hit_rate:>6.3f} {report.brier:>8.5f} {report.log_loss:>8.5f}"
        f" {report.ece:>7.4f}  {fit}"
    )
