"""``gpe`` — the GPE pipeline from the command line.

    gpe train-encoder --data digits --run runs/digits --latent-dim 10 --iterations 5000 --lr 1e-3
    gpe train-decoder --run runs/digits --iterations 5000 --lr 1e-3
    gpe train-flow    --run runs/digits --iterations 5000
    gpe sample        --run runs/digits -n 64 --out samples.png
    gpe evaluate      --run runs/digits
    gpe info          runs/digits        # each stage: settings, what wrote it, whether it still matches
    gpe train-gan     --method gmegan --variant as_released --data mixture-9x100 --run runs/gan --iterations 3000

``--data`` is a dataset name (digits, mnist, cifar10, celeba, celeba_hq, tiny_imagenet) or a folder of images.
Settings come from
defaults < ``--config FILE.yaml`` < flags; the merged settings are stored in ``RUN/config.yaml`` so later stages
(and a rerun) know the data and the architecture. Each stage writes ``RUN/<stage>/`` (safetensors weights + JSON
config, resumable) and ``RUN/<stage>_history.csv``. Errors print one message, not a traceback.

Several processes (one per GPU, or CPU processes with gloo): ``torchrun --nproc_per_node=N -m gpelib.cli
train-encoder --run-dir RUN …`` (torchrun would take ``--run`` for its own ``--run-path``) — ``--batch-size`` is then
per process, and N processes with batch b train exactly as one with
batch N·b; only rank 0 writes files and prints.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import yaml

from .cli_settings import (  # noqa: F401 (_settings, DEFAULTS: read by the tests through this module)
    DEFAULTS,
    SCHEMA,
    STAGES,
    CLIError,
    _locked,
    _main_process,
    _merge,
    _read_yaml,
    _save_settings,
    _set_aside,
    _settings,
    _settings_for,
    _stage_defaults,
    _stage_transaction,
    _type_ok,
    _validate,
)

__all__ = ["main", "build_parser"]

#: A training command checkpoints every tenth of its iterations and at least this often (and at Ctrl-C/SIGTERM).
CHECKPOINT_MINUTES = 5.0
#: ``gpe sample -n`` at most (10,000 64×64 RGB images are 0.5 GB of float32); the image shows the first GRID_LIMIT.
SAMPLE_LIMIT, GRID_LIMIT = 10_000, 1024

def _report(res, run: Path, stage: str, message: str) -> None:
    """Rank 0 writes ``RUN/<stage>_history.csv`` and prints one line."""
    if _main_process():
        res.history.to_csv(run / f"{stage}_history.csv", index=False)
        print(message)


def _load_images(cfg: dict[str, Any]):
    from .data import load_dataset

    kw = {"size": cfg["size"]} if cfg.get("size") else {}
    return load_dataset(str(cfg["data"]), cfg.get("root"), **kw)  # a name or a folder of images


def _split(cfg: dict[str, Any]):
    images = _load_images(cfg)
    train, val = images.split(min(int(cfg["n_val"]), len(images) // 5), seed=int(cfg["seed"]))
    return images, train.images, val.images


def _train_config(cfg: dict[str, Any], stage: str, run: Path):
    from .settings import Stage

    s = cfg[stage]
    it = int(s["iterations"])
    return Stage(iterations=it, batch_size=int(s["batch_size"]), lr=float(s["lr"]), betas=tuple(s["betas"]),
                 eval_every=max(it // 20, 1), target=s.get("target")).config(
        seed=int(cfg["seed"]), device=cfg["device"], chunk_size=s.get("chunk_size"),
        data_scale=float(cfg["data_scale"]), checkpoint_dir=str(run / stage), checkpoint_every=max(it // 10, 1),
        checkpoint_minutes=CHECKPOINT_MINUTES, precision=cfg.get("precision", "fp32"),
        channels_last=bool(cfg.get("channels_last", False)), compile=bool(cfg.get("compile", False)))


def _seed_models(cfg: dict[str, Any], role: str) -> None:
    """Networks are initialised by the one seeding rule of :mod:`gpelib.recipes` (``seed + OFFSET[role]``), so a
    rerun, rank 0 of a torchrun job and the notebooks build the same ones."""
    import torch

    from .recipes import OFFSET

    torch.manual_seed(int(cfg["seed"]) + OFFSET[role])


def _need(run: Path, stage: str) -> Path:
    from .checkpoint import checkpoint_exists

    path = run / stage
    if not checkpoint_exists(path):
        raise CLIError(f"{path} holds no trained {stage}: run `gpe train-{stage} --run {run}` first")
    return path


def _load_module(run: Path, stage: str, name: str):
    """``RUN/<stage>``'s network ``name``, rebuilt from its ``config.json`` — one ``gpe: error:`` line naming the file
    when the config no longer describes the weights (edited by hand, or from another run)."""
    from .checkpoint import load_checkpoint
    from .models import build_model

    ck = load_checkpoint(_need(run, stage))
    try:
        model = build_model(ck.config["modules"][name])
        model.load_state_dict(ck.weights[name])
    except (KeyError, TypeError, ValueError, RuntimeError) as e:
        lines = [k.strip() for k in str(e).splitlines() if k.strip()] or [type(e).__name__]
        why = lines[1] if lines[0].endswith(":") and len(lines) > 1 else lines[0]  # torch: a header, then the cause
        raise CLIError(f"{run / stage / 'config.json'} does not describe the weights beside it ({type(e).__name__}: "
                       f"{why}); was it edited? Restore it, or train the stage again: gpe train-{stage} --run {run} "
                       "--fresh") from None
    return model.eval()


def _stage_config(run: Path, stage: str) -> dict[str, Any]:
    """``RUN/<stage>/config.json``, or one ``gpe: error:`` line naming the file and the fix."""
    import json

    path = run / stage / "config.json"
    try:
        return json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise CLIError(f"{path} is not valid JSON ({e}); restore it, or train the stage again: gpe train-{stage} "
                       f"--run {run} --fresh") from None


def _same_images(run: Path, enc, shape: tuple[int, ...], cfg: dict[str, Any]) -> None:
    """The images of this command have the shape the run's encoder was trained on (``--data``/``--size`` naming
    other images than the run's are refused before any training)."""
    want = tuple(getattr(enc, "config", {}).get("data_shape") or ())
    if want and tuple(shape) != want:
        raise CLIError(f"--data {cfg['data']} --size {cfg.get('size')} gives images of shape {tuple(shape)}, but the "
                       f"encoder in {run / 'encoder'} was trained on {want}; use that run's data and size (see "
                       f"{run / 'config.yaml'}), or train another --run")


def cmd_train_encoder(args: argparse.Namespace) -> None:
    from .recipes import train_gpe_encoder

    run = Path(args.run)
    cfg = _settings(args, "encoder")
    _, x, xv = _split(cfg)
    with _settings_for(run, cfg, "encoder", args.fresh):
        res = train_gpe_encoder(x, latent_dim=int(cfg["latent_dim"]), config=_train_config(cfg, "encoder", run),
                                val_data=xv, arch=cfg["arch"], width=int(cfg["width"]))
    _report(res, run, "encoder", f"encoder: {res.iterations} iterations, {res.seconds:.1f} s, stopped by "
                                 f"{res.info['stopped']}, held-out GME cost {res.final_val:.4g} -> {run / 'encoder'}")


def cmd_train_decoder(args: argparse.Namespace) -> None:
    from .models import make_decoder
    from .train import train_decoder

    run = Path(args.run)
    cfg = _settings(args, "decoder")
    enc = _load_module(run, "encoder", "encoder")
    images, x, xv = _split(cfg)
    _same_images(run, enc, images.shape, cfg)
    with _settings_for(run, cfg, "decoder", args.fresh):
        _seed_models(cfg, "decoder")
        dec = make_decoder(images.shape, int(cfg["latent_dim"]), arch=cfg["arch"], width=int(cfg["width"]))
        res = train_decoder(dec, enc, x, config=_train_config(cfg, "decoder", run), val_data=xv)
    _report(res, run, "decoder", f"decoder: {res.iterations} iterations, {res.seconds:.1f} s, held-out "
                                 f"reconstruction MSE {res.final_val:.4g} -> {run / 'decoder'}")


def cmd_train_flow(args: argparse.Namespace) -> None:
    from .checkpoint import weights_hash
    from .flows import VelocityMLP, train_flow
    from .models import encode

    run = Path(args.run)
    cfg = _settings(args, "flow")
    enc = _load_module(run, "encoder", "encoder")
    images, x, xv = _split(cfg)
    _same_images(run, enc, images.shape, cfg)
    with _settings_for(run, cfg, "flow", args.fresh):
        d = int(cfg["latent_dim"])
        _seed_models(cfg, "velocity")
        vel = VelocityMLP(d, hidden=int(cfg["flow"]["hidden"]), n_layers=int(cfg["flow"]["n_layers"]))
        res = train_flow(vel, encode(enc, x), config=_train_config(cfg, "flow", run), val_latents=encode(enc, xv),
                         encoder_hash=weights_hash(enc))
    _report(res, run, "flow", f"flow: {res.iterations} iterations, {res.seconds:.1f} s, held-out CFM loss "
                              f"{res.final_val:.4g} -> {run / 'flow'}")


def _check_current(run: Path, stages: tuple[str, ...] = ("decoder", "flow")) -> None:
    """Refuse a decoder or flow trained on another encoder than ``RUN/encoder`` holds now (the encoder was retrained
    after them): their checkpoints record the encoder's weights hash."""

    from .checkpoint import checkpoint_exists, weights_hash

    current = weights_hash(_load_module(run, "encoder", "encoder"))
    for stage in stages:
        if not checkpoint_exists(run / stage):
            continue
        recorded = _stage_config(run, stage).get("encoder_hash")
        if recorded is not None and recorded != current:
            raise CLIError(f"{run / stage} was trained on an earlier encoder (the encoder in {run / 'encoder'} was "
                           f"retrained since); train it again: gpe train-{stage} --run {run} --fresh")


def _generator(run: Path):
    from .flows import LatentGenerator

    _check_current(run)
    dec = _load_module(run, "decoder", "decoder")
    return LatentGenerator.load(_need(run, "flow"), decoder=dec)


def cmd_sample(args: argparse.Namespace) -> None:
    import matplotlib.pyplot as plt
    from safetensors.torch import save_file

    from .plots import image_grid

    if not 1 <= args.n <= SAMPLE_LIMIT:
        raise CLIError(f"-n must be between 1 and {SAMPLE_LIMIT:,}; got {args.n} (more samples: call "
                       "gpelib.flows.LatentGenerator.generate in batches from Python)")
    run = Path(args.run)
    out = Path(args.out) if args.out else run / "samples.png"
    formats = plt.figure().canvas.get_supported_filetypes()
    plt.close("all")
    if out.suffix.lower().lstrip(".") not in formats:
        raise CLIError(f"--out {out}: unknown image format {out.suffix!r}; use one of "
                       f"{', '.join('.' + f for f in sorted(formats))}")
    gen = _generator(run)
    x = gen.generate(args.n, seed=args.seed)
    shown = x[:GRID_LIMIT]
    fig = image_grid(shown, nrow=int(max(1, round(len(shown) ** 0.5))))
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=130, bbox_inches="tight")  # the format the suffix names (png, jpg, pdf, svg, …)
    plt.close(fig)
    save_file({"samples": x.contiguous()}, str(out.with_suffix(".safetensors")))
    print(f"{args.n} samples -> {out} and {out.with_suffix('.safetensors')}")


def cmd_evaluate(args: argparse.Namespace) -> None:
    import torch

    from .geometry import diagnose_encoder
    from .train import evaluate_reconstruction

    run = Path(args.run)
    cfg = _settings(args, None)
    # the held-out split is the one the run was trained beside (its own seed): --seed only seeds the generated images
    images, x, xv = _split({**cfg, "seed": _settings(argparse.Namespace(run=args.run), None)["seed"]})
    enc = _load_module(run, "encoder", "encoder")
    _same_images(run, enc, images.shape, cfg)
    _check_current(run)
    d = diagnose_encoder(enc, xv, data_scale=float(cfg["data_scale"]))
    lines = [f"held-out points: {len(xv)} of {images.name}",
             f"GME cost (U-statistic): {d.gme:.5g}",
             f"distance correlation: Pearson {d.distance_corr:.4f}, Spearman {d.spearman:.4f}",
             f"distance ratio ‖Tx−Tx′‖/‖x−x′‖: q05 {d.ratio_q05:.3f}, median {d.ratio_median:.3f}, "
             f"q95 {d.ratio_q95:.3f}, spread q95/q05 {d.spread:.3f}"]
    if (run / "decoder").exists():
        dec = _load_module(run, "decoder", "decoder")
        lines.append(f"reconstruction MSE (per pixel, [-1, 1]): {evaluate_reconstruction(enc, dec, xv):.5g}")
    if (run / "flow").exists() and images.labels is not None:
        from .metrics import default_feature_extractor, frechet_score

        gen = _generator(run)
        extractor = default_feature_extractor(images.images, images.labels, cache_dir=run / "classifier",
                                              tag=images.name)
        fake = gen.generate(len(xv), seed=int(cfg["seed"]))
        score = frechet_score(extractor, xv, fake)
        lines.append(f"{score.metric}: {score.value:.4g} ({score.n_real} real vs {score.n_fake} generated, "
                     f"features: {score.extractor})")
    lines += _provenance_lines(run)
    torch.set_printoptions(precision=4)
    print("\n".join(lines))


def cmd_info(args: argparse.Namespace) -> None:
    """``gpe info RUN``: each stage's checkpoint — iterations, optimiser settings, what wrote it, which encoder it was
    trained on and whether that is still the encoder in ``RUN/encoder`` — and the stages kept aside by ``--fresh``."""

    from .checkpoint import checkpoint_exists, weights_hash

    run = Path(args.run)
    if not run.is_dir():
        raise CLIError(f"no run folder at {run}; make one with: gpe train-encoder --run {run}")
    current = weights_hash(_load_module(run, "encoder", "encoder")) if checkpoint_exists(run / "encoder") else None
    lines = [f"run {run}" + (f" (settings: {run / 'config.yaml'})" if (run / "config.yaml").is_file() else "")]
    for stage in STAGES:
        if not checkpoint_exists(run / stage):
            lines.append(f"  {stage}: not trained")
            continue
        c = _stage_config(run, stage)
        t = c.get("train_config", {})
        line = (f"  {stage}: {c.get('iteration', '?')} iterations (of {t.get('iterations', '?')}), lr {t.get('lr')}, "
                f"batch {t.get('batch_size')}, seed {t.get('seed')}")
        if stage == "encoder":
            line += f"; weights {current}"
        elif c.get("encoder_hash") is not None:
            ok = c["encoder_hash"] == current
            line += (f"; trained on encoder {c['encoder_hash']}: "
                     + ("the current one" if ok else f"STALE — retrain: gpe train-{stage} --run {run} --fresh"))
        lines.append(line)
    kept = sorted(p.name for p in run.glob("*.replaced-*"))
    if kept:
        lines.append("  kept aside by --fresh: " + ", ".join(kept))
    lines += ["  " + x for x in _provenance_lines(run)]
    print("\n".join(lines))


def _provenance_lines(run: Path) -> list[str]:
    """What wrote each stage's checkpoint: commit and package versions from its ``config.json``."""

    from .provenance import summary

    lines = []
    for stage in STAGES:
        if (run / stage / "config.json").is_file():
            prov = _stage_config(run, stage).get("provenance")
            who = summary(prov) if prov else "unknown (a checkpoint from before gpelib recorded it)"
            lines.append(f"{stage} written by: {who}")
    return lines


_MIXTURE = "mixture-<modes>x<dim>"


def _gan_data(spec: str, root: str | None, n_val: int, seed: int):
    """``(train, held_out, is_mixture)`` for ``gpe train-gan --data``: ``mixture-9x100`` (GMEGAN §6.2: 1,000 points of
    9 Gaussians in R^100; held out: a fresh draw) or an image dataset name / folder."""
    import re

    m = re.fullmatch(r"mixture-(\d+)x(\d+)", spec)
    if m:
        from .data import gaussian_mixture

        modes, dim = int(m.group(1)), int(m.group(2))
        if modes < 1 or dim < 2:
            raise CLIError(f"--data {spec}: need at least 1 mode and dimension ≥ 2 ({_MIXTURE})")
        mix = gaussian_mixture(1000, n_modes=modes, dim=dim, seed=seed)
        return mix.x, mix.sample(500, seed=30_000 + seed).x, True
    if spec.startswith("mixture"):
        raise CLIError(f"--data {spec}: a mixture is written {_MIXTURE}, e.g. mixture-9x100")
    from .data import load_dataset

    images = load_dataset(spec, root)
    train, val = images.split(min(n_val, len(images) // 5), seed=seed)
    return train.images, val.images, False


def cmd_train_gan(args: argparse.Namespace) -> None:
    """GMEGAN (as printed, with means, as released) or a baseline, trained into ``RUN/gan`` (resumable)."""
    from .gan import GMEGAN_VARIANTS, METHODS, train_gan
    from .train import TrainConfig

    run = Path(args.run)
    if run.exists() and not run.is_dir():
        raise CLIError(f"--run {run} is a file; a run is a folder (made if needed): name another path")
    hyper: dict[str, Any] = {}
    for item in args.set or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise CLIError(f"--set {item!r}: write NAME=VALUE, e.g. --set lambda1=0")
        try:
            hyper[key] = yaml.safe_load(value)
        except yaml.YAMLError:
            raise CLIError(f"--set {item!r}: {value!r} is not a number, word or list") from None
    if args.variant is not None:
        if not args.method.startswith("gmegan"):
            raise CLIError(f"--variant belongs to GMEGAN; method {args.method!r} has none (known variants: "
                           f"{', '.join(GMEGAN_VARIANTS)})")
        hyper["variant"] = args.variant
    for key in ("iterations", "batch_size", "latent_dim", "eval_every"):
        v = getattr(args, key)
        if v is not None and v < 1:
            raise CLIError(f"--{key.replace('_', '-')} must be a whole number > 0; got {v}")
    x, held_out, mixture = _gan_data(args.data, args.root, 300, args.seed)
    arch = args.arch or ("mlp" if mixture or x.ndim == 2 else "dcgan")
    latent = args.latent_dim or (2 if mixture else 100)
    batch = args.batch_size or (16 if mixture else 64)  # GMEGAN Table 1
    iterations = args.iterations or 5000
    cfg = TrainConfig(iterations=iterations, batch_size=batch, seed=args.seed, device=args.device,
                      eval_every=args.eval_every or max(iterations // 20, 1), checkpoint_dir=str(run / "gan"),
                      checkpoint_every=max(iterations // 10, 1), checkpoint_minutes=CHECKPOINT_MINUTES)
    if args.method not in METHODS:
        raise CLIError(f"unknown method {args.method!r}; known: {', '.join(METHODS)}")
    with _locked(run), _stage_transaction(run, "gan", args.fresh):
        try:
            res = train_gan(args.method, x, arch=arch, latent_dim=latent, config=cfg, hyper=hyper, val_data=held_out)
        except ValueError as e:
            if "describes another model" in str(e):
                raise CLIError(f"{str(e).split('; delete the folder')[0]}. To start over, add --fresh (the old run "
                               f"is kept as {run}/gan.replaced-<date-time>).") from None
            raise
        res.history.to_csv(run / "gan_history.csv", index=False)
    print(f"{args.method} ({res.method.hyper.get('variant', 'paper settings')}): {res.iterations} iterations, "
          f"{res.seconds:.1f} s, held-out energy distance {res.final_val:.4g} -> {run / 'gan'}")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="gpe", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def common(sp: argparse.ArgumentParser, stage: str | None) -> None:
        sp.add_argument("--run", "--run-dir", dest="run", required=True,
                        help="run folder (created if needed); spell it --run-dir under torchrun")
        sp.add_argument("--config", help="YAML file of settings (keys as in RUN/config.yaml)")
        sp.add_argument("--data", help="dataset name (digits, mnist, cifar10, celeba, celeba_hq, tiny_imagenet) "
                                         "or image folder")
        sp.add_argument("--root", help="folder holding the datasets (default $GPE_DATA_ROOT or ~/data)")
        sp.add_argument("--size", type=int, help="resize images to SIZE×SIZE")
        sp.add_argument("--device", help="torch device (default: cuda if available)")
        sp.add_argument("--seed", type=int)
        if stage is not None:
            sp.add_argument("--fresh", action="store_true", help=f"start the {stage} over: the existing one is moved "
                            f"to RUN/{stage}.replaced-<date-time>, not deleted")
            sp.add_argument("--iterations", type=int)
            sp.add_argument("--batch-size", type=int)
            sp.add_argument("--lr", type=float)
            sp.add_argument("--precision", choices=("fp32", "bf16"), help="bf16: autocast (GPU speed)")
            sp.add_argument("--channels-last", action="store_const", const=True,
                            help="NHWC memory format for image batches (GPU speed)")
            sp.add_argument("--compile", action="store_const", const=True,
                            help="torch.compile the trained network (GPU speed; first iterations compile)")

    sp = sub.add_parser("train-encoder", help="GPE Algorithm 1: encoder on the GME cost alone")
    common(sp, "encoder")
    sp.add_argument("--latent-dim", type=int)
    sp.add_argument("--arch", choices=("mlp", "conv"))
    sp.add_argument("--width", type=int)
    sp.add_argument("--target", type=float, help="stop when the held-out GME cost reaches this ε")
    sp.add_argument("--data-scale", type=float, help="s in c_X = log(1 + s²‖x−x′‖²)")
    sp.add_argument("--chunk-size", type=int, help="rows per block of the GME cost (bounds memory)")
    sp.set_defaults(func=cmd_train_encoder)
    sp = sub.add_parser("train-decoder", help="GPE Algorithm 2: decoder on reconstruction, encoder frozen")
    common(sp, "decoder")
    sp.set_defaults(func=cmd_train_decoder)
    sp = sub.add_parser("train-flow", help="conditional flow matching in the standardised latent space")
    common(sp, "flow")
    sp.set_defaults(func=cmd_train_flow)
    sp = sub.add_parser("sample", help="generate images: decoder(flow(noise))")
    sp.add_argument("--run", "--run-dir", dest="run", required=True)
    sp.add_argument("-n", type=int, default=64, help=f"how many samples (at most {SAMPLE_LIMIT:,}; the image shows "
                    f"the first {GRID_LIMIT}, the .safetensors file holds all)")
    sp.add_argument("--seed", type=int, default=0)
    sp.add_argument("--out", help="image path, its format from the suffix: .png, .jpg, .pdf, … (default "
                    "RUN/samples.png); the tensors go beside it as .safetensors")
    sp.set_defaults(func=cmd_sample)
    sp = sub.add_parser("evaluate", help="reconstruction, GME cost, bi-Lipschitz statistics, generation metric; "
                        "--seed seeds the generated images only (the held-out split is the run's own)")
    common(sp, None)
    sp.set_defaults(func=cmd_evaluate)
    sp = sub.add_parser("train-gan", help="GMEGAN (as printed / as released) or one of its seven baselines")
    sp.add_argument("--run", "--run-dir", dest="run", required=True, help="run folder; the model goes to RUN/gan")
    sp.add_argument("--method", default="gmegan", help="gmegan, gmegan_mean, gmegan_released, gan, wgan, wgan_gp, "
                    "wgan_div, otm, vaegan, veegan")
    sp.add_argument("--variant", help="GMEGAN's settings: as_printed, as_printed_mean, as_released")
    sp.add_argument("--data", default="mixture-9x100", help=f"{_MIXTURE} (GMEGAN §6.2) or an image dataset / folder")
    sp.add_argument("--root", help="folder holding the datasets (default $GPE_DATA_ROOT or ~/data)")
    sp.add_argument("--arch", help="architecture (mlp; dcgan and its variants on images)")
    sp.add_argument("--latent-dim", type=int, help="default 2 on mixtures, 100 on images")
    sp.add_argument("--iterations", type=int, help="generator iterations (default 5000)")
    sp.add_argument("--batch-size", type=int, help="default 16 on mixtures, 64 on images (GMEGAN Table 1)")
    sp.add_argument("--eval-every", type=int, help="held-out energy distance every N iterations (default N/20)")
    sp.add_argument("--set", action="append", metavar="NAME=VALUE", help="a hyper-parameter of the method, "
                    "e.g. --set lambda1=0 (repeatable)")
    sp.add_argument("--seed", type=int, default=0)
    sp.add_argument("--device", help="torch device (default: cuda if available)")
    sp.add_argument("--fresh", action="store_true", help="start over: RUN/gan is moved to RUN/gan.replaced-<time>")
    sp.set_defaults(func=cmd_train_gan)
    sp = sub.add_parser("info", help="the run's stages: settings, what wrote them, whether they still match")
    sp.add_argument("run", help="the run folder")
    sp.set_defaults(func=cmd_info)
    return p


def _error_line(e: Exception) -> str | None:
    """The one line ``gpe: error: …`` says for an expected failure (its notes — e.g. what the run folder holds after
    it — appended), or ``None`` for an unexpected one (a bug: the traceback is shown)."""
    from .data import DatasetFormatError, DatasetNotFoundError

    notes = "".join(f"; {n}" for n in getattr(e, "__notes__", ()))
    if isinstance(e, (CLIError, DatasetNotFoundError, DatasetFormatError, FloatingPointError)):
        return f"{e}{notes}"  # FloatingPointError: a non-finite loss or weights (train_setup.NonFiniteLossError)
    if isinstance(e, (FileNotFoundError, ValueError, KeyError)):
        return f"{type(e).__name__}: {e}{notes}"
    if isinstance(e, OSError):  # a read-only run folder, a full disk, a folder where a file was expected
        return (f"{e.strerror or type(e).__name__}: {e.filename or e} — check that the run folder is writable and the "
                f"disk has room{notes}")
    return None


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    for k in ("batch_size", "latent_dim", "data_scale", "chunk_size"):
        if not hasattr(args, k):
            setattr(args, k, None)
    from .distributed import init_from_env, shutdown

    ok = False
    try:
        init_from_env()  # under torchrun: one process group, the trainers run data-parallel
        args.func(args)
        ok = True
    except KeyboardInterrupt as e:  # gpelib.train.TrainingInterrupted says where its checkpoint is
        print(f"gpe: stopped: {e or 'interrupted'}", file=sys.stderr)
        return 130
    except Exception as e:  # noqa: BLE001 — the kinds below become one line; anything else is a bug: traceback
        line = _error_line(e)
        if line is None:
            raise
        print(f"gpe: error: {line}", file=sys.stderr)
        return 2
    finally:
        shutdown(wait=ok)
    return 0


if __name__ == "__main__":
    sys.exit(main())
