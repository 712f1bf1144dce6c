"""``moonlight dataset export`` and ``moonlight train CONFIG`` (added through the
``moonlight.cli`` entry-point group). Heavy imports happen inside the commands, so
loading the CLI costs nothing and never imports the training stack."""

from __future__ import annotations

import json
from pathlib import Path

import click


@click.group("dataset")
def dataset_group() -> None:
    """Datasets for learned strategies (decisions × features × outcomes)."""


@dataset_group.command("export")
@click.option("--candles", type=click.Path(exists=True, path_type=Path), help="Candle file.")
@click.option("--storage", "storage_url", help="Storage URL: read the decisions table.")
@click.option("--instrument", help="Instrument name (default: from the file name).")
@click.option("--timeframe", help="Bar timeframe, e.g. 1m (default: inferred).")
@click.option("--expiry", "expiry_s", type=float, default=60.0, show_default=True)
@click.option("--features", "spec_file", type=click.Path(exists=True, path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Parquet file.")
def export_cmd(
    candles: Path | None,
    storage_url: str | None,
    instrument: str | None,
    timeframe: str | None,
    expiry_s: float,
    spec_file: Path | None,
    out: Path,
) -> None:
    """Write a dataset to Parquet, from a candle file or from storage."""
    from moonlight.core.data.errors import DataError
    from moonlight.core.data.load import load_candles
    from moonlight.strategies.ml.dataset import (
        DatasetError,
        dataset_from_candles,
        dataset_from_storage,
        write_parquet,
    )
    from moonlight.strategies.ml.features import DEFAULT_SPEC, FeatureSpec

    if (candles is None) == (storage_url is None):
        raise click.UsageError("give exactly one of --candles FILE or --storage URL")
    try:
        spec = (
            DEFAULT_SPEC
            if spec_file is None
            else FeatureSpec.from_dict(json.loads(spec_file.read_text(encoding="utf-8")))
        )
        if candles is not None:
            series = load_candles(candles, instrument=instrument, timeframe=timeframe)
            frame = dataset_from_candles(series, spec, expiry_s=expiry_s)
        else:
            assert storage_url is not None
            frame = dataset_from_storage(storage_url, spec)
    except (DatasetError, DataError, ValueError) as error:
        raise click.ClickException(str(error)) from None
    write_parquet(frame, out)
    labelled = int(frame["label"].notna().sum())
    click.echo(f"wrote {len(frame)} rows ({labelled} labelled) to {out}")


@click.command("train")
@click.argument("config_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the model card as JSON.")
def train_cmd(config_file: Path, as_json: bool) -> None:
    """Walk-forward train a learned-strategy model from a YAML CONFIG and register it."""
    import yaml
    from pydantic import ValidationError

    from moonlight.strategies.ml.dataset import DatasetError
    from moonlight.strategies.ml.learners import MissingTrainingStack
    from moonlight.strategies.ml.train import TrainConfig, train

    try:
        raw = yaml.safe_load(config_file.read_text(encoding="utf-8"))
        config = TrainConfig.model_validate(raw).resolved(config_file.parent)
        result = train(config)
    except (ValidationError, yaml.YAMLError, DatasetError, MissingTrainingStack) as error:
        raise click.ClickException(f"{config_file}: {error}") from None
    card = result.card
    if as_json:
        click.echo(json.dumps({**card.to_dict(), "promoted": result.promoted}, indent=2))
        return
    click.echo(f"{card.name} v{card.version} ({card.learner}), {card.metrics['rows']} rows")
    click.echo("fold  rows_train  n_test  brier   logloss  ece     trades  win    verdict")
    for fold in card.metrics["folds"]:
        click.echo(
            f"{fold['fold']:>4}  {fold['train_rows']:>10}  {fold['n']:>6}  {fold['brier']:.4f}"
            f"  {fold['log_loss']:.4f}   {fold['ece']:.4f}  {fold['trades']:>6}"
            f"  {_rate(fold['win_rate'])}  {fold['verdict']}"
        )
    pooled = card.metrics["pooled"]
    click.echo(
        f"pooled out of sample: ECE {pooled['ece']:.4f}, {pooled['trades']} trades, win rate"
        f" {_rate(pooled['win_rate'])} [{pooled['win_low']:.3f}, {pooled['win_high']:.3f}] vs"
        f" break-even {pooled['break_even']:.3f}: {pooled['verdict']}"
    )
    click.echo(f"ONNX max |Δp| {result.onnx_max_abs_diff:.2e}; {result.promotion_note}")


def _rate(value: float | None) -> str:
    """A win rate for the table ("  -  " when nothing was traded)."""
    return "  -  " if value is None else f"{value:.3f}"
