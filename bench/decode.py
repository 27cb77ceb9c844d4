"""Benchmark: QR decode time and rate on 1280x720 frames, per decoder backend.

Frames are generated in memory with a fixed seed: real app tokens (sync.tokens, ~300
characters of Base45 in QR alphanumeric mode, DESIGN §5) at three difficulties, plus frames with no
code at all (most frames a counter camera sees). Target (DESIGN §9): zxing-cpp <= 10 ms median
on clean and medium frames.

    python -m bench decode [--frames N] [--repeats N] [--json FILE]
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections.abc import Callable

import numpy as np

from cardreader import synthetic
from cardreader.decode import (
    QR_CODE,
    Decoder,
    PyzbarDecoder,
    ZxingDecoder,
    make_camera_decoder,
)
from cardreader.errors import DecoderUnavailable
from sync import clitools

SEED = 20_261_122
# The issue time stamped on the generated tokens (fixed, so frames are the same every run).
TOKEN_TIME = 1_795_000_000
FRAMES_PER_DIFFICULTY = 20
REPEATS = 3
TARGET_MS_P50 = 10.0
TARGET_DIFFICULTIES = ("clean", "medium")

# Module sizes in pixels: a phone held at a comfortable distance gives ~5 px modules at 720p
# for a version-10 code; "small" is a phone held far away or a small screen.
CLEAN_MODULE_PX = 5
SMALL_MODULE_PX = 3
MEDIUM_BLUR_SIGMA = 1.0
MEDIUM_NOISE_SIGMA = 8.0
CLEAN_NOISE_SIGMA = 2.0
HARD_WARP_JITTER = 0.12
HARD_CONTRAST = (100, 150)
HARD_NOISE_SIGMA = 6.0
# Codes are placed at random, at least this far from the frame's edges.
PLACEMENT_MARGIN_PX = 40


def _placed(symbol: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    frame = synthetic.background(rng)
    margin = PLACEMENT_MARGIN_PX
    x = int(rng.integers(margin, frame.shape[1] - symbol.shape[1] - margin))
    y = int(rng.integers(margin, frame.shape[0] - symbol.shape[0] - margin))
    return synthetic.place(frame, symbol, x, y)


def clean_frame(payload: str, rng: np.random.Generator) -> np.ndarray:
    frame = _placed(synthetic.qr_image(payload, CLEAN_MODULE_PX), rng)
    return synthetic.noise(frame, CLEAN_NOISE_SIGMA, rng)


def medium_frame(payload: str, rng: np.random.Generator) -> np.ndarray:
    frame = _placed(synthetic.qr_image(payload, SMALL_MODULE_PX), rng)
    frame = synthetic.blur(frame, MEDIUM_BLUR_SIGMA)
    return synthetic.noise(frame, MEDIUM_NOISE_SIGMA, rng)


def hard_frame(payload: str, rng: np.random.Generator) -> np.ndarray:
    frame = synthetic.centred(
        synthetic.background(rng), synthetic.qr_image(payload, CLEAN_MODULE_PX)
    )
    frame = synthetic.perspective(frame, HARD_WARP_JITTER, rng)
    frame = synthetic.low_contrast(frame, *HARD_CONTRAST)
    return synthetic.noise(frame, HARD_NOISE_SIGMA, rng)


def empty_frame(_payload: str, rng: np.random.Generator) -> np.ndarray:
    return synthetic.noise(synthetic.background(rng), CLEAN_NOISE_SIGMA, rng)


DIFFICULTIES: dict[str, Callable[[str, np.random.Generator], np.ndarray]] = {
    "clean": clean_frame,
    "medium": medium_frame,
    "hard": hard_frame,
    "empty": empty_frame,
}


def app_tokens(count: int, rng: np.random.Generator) -> list[str]:
    """Real app tokens (sync.tokens): a certificate from a ledger key, shown by a device with
    rising counters; keys come from the seeded generator, so every run shows the same codes."""
    from sync import keys, tokens

    ledger = keys.private_key_from_seed(rng.bytes(keys.SEED_BYTES))
    device = keys.private_key_from_seed(rng.bytes(keys.SEED_BYTES))
    wallet = "W-" + synthetic.base45_text(26, rng).replace(" ", "0")[:26]
    cert = tokens.issue_certificate(ledger, wallet, device.public_key(), 5_000, 2_000_000_000)
    return [tokens.make_token(cert, device, n + 1, TOKEN_TIME) for n in range(count)]


def make_frames(count: int, seed: int = SEED) -> dict[str, list[tuple[str, np.ndarray]]]:
    """(payload, frame) pairs per difficulty, the same for every run with the same seed."""
    rng = np.random.default_rng(seed)
    return {
        name: [(payload, make(payload, rng)) for payload in app_tokens(count, rng)]
        for name, make in DIFFICULTIES.items()
    }


def measure(
    decoder: Decoder, frames: list[tuple[str, np.ndarray]], repeats: int
) -> dict[str, float]:
    timings: list[float] = []
    hits = 0
    for payload, frame in frames:
        for attempt in range(repeats):
            started = time.perf_counter()
            found = decoder.decode(frame)
            timings.append((time.perf_counter() - started) * 1000)
            if attempt == 0 and any(symbol.text == payload for symbol in found):
                hits += 1
    return {
        "ms_p50": statistics.median(timings),
        "ms_p90": statistics.quantiles(timings, n=10)[-1] if len(timings) > 1 else timings[0],
        "rate": hits / len(frames),
    }


# label -> how to make the decoder. "zxing" and "pyzbar" read QR only (the DESIGN §9 target
# is for QR); "zxing_qr128" is one pass for QR and Code 128 together, the price of a frame on
# which the camera also looks for Code 128; "zxing_camera" is the camera's real schedule,
# averaged over frames.
BACKENDS: dict[str, Callable[[], Decoder]] = {
    "zxing": lambda: ZxingDecoder((QR_CODE,)),
    "pyzbar": lambda: PyzbarDecoder((QR_CODE,)),
    "zxing_qr128": ZxingDecoder,
    "zxing_camera": make_camera_decoder,
}


def _backends() -> tuple[dict[str, Decoder], list[str]]:
    decoders, missing = {}, []
    for label, make in BACKENDS.items():
        try:
            decoders[label] = make()
        except DecoderUnavailable as exc:
            missing.append(f"{label}: {exc.message}")
    return decoders, missing


def main(argv: list[str] | None = None) -> int:
    parser = clitools.Parser(prog="python -m bench decode", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--frames",
        type=clitools.positive,
        default=FRAMES_PER_DIFFICULTY,
        help="frames per difficulty (default %(default)s)",
    )
    parser.add_argument(
        "--repeats", type=clitools.positive, default=REPEATS,
        help="timed decodes per frame (default %(default)s)",
    )
    parser.add_argument("--json", metavar="FILE", type=clitools.writable_file,
                        help="also write the figures as JSON")
    args = parser.parse_args(argv)
    if args.frames < 1 or args.repeats < 1:
        parser.error("--frames and --repeats must be at least 1")

    decoders, missing = _backends()
    for message in missing:
        print(f"skipped: {message}", file=sys.stderr)
    if not decoders:
        print("no decoder backend is available", file=sys.stderr)
        return 1
    frames = make_frames(args.frames)
    results: dict[str, float | int | str] = {
        "seed": SEED,
        "frames": args.frames,
        "repeats": args.repeats,
        "payload_chars": len(frames["clean"][0][0]),
    }
    print(f"{'backend':12} {'scene':7} {'p50 ms':>8} {'p90 ms':>8} {'rate':>6}")
    for label, decoder in decoders.items():
        for difficulty, items in frames.items():
            figures = measure(decoder, items, args.repeats)
            if difficulty == "empty":
                del figures["rate"]  # nothing to find; the time is what matters
            for key, value in figures.items():
                results[f"{label}_{difficulty}_{key}"] = round(value, 3)
            rate = f"{figures['rate']:6.0%}" if "rate" in figures else f"{'-':>6}"
            print(
                f"{label:12} {difficulty:7} {figures['ms_p50']:8.2f} "
                f"{figures['ms_p90']:8.2f} {rate}"
            )

    for difficulty in TARGET_DIFFICULTIES:
        p50 = results.get(f"zxing_{difficulty}_ms_p50")
        if isinstance(p50, float):
            ratio = p50 / TARGET_MS_P50
            results[f"zxing_{difficulty}_target_ratio"] = round(ratio, 3)
            verdict = "ok" if ratio <= 1 else "OVER TARGET"
            print(
                f"zxing {difficulty}: median {p50:.2f} ms = {ratio:.2f} x the "
                f"{TARGET_MS_P50:g} ms target ({verdict})"
            )
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump(results, out, indent=2, sort_keys=True)
            out.write("\n")
    # A miss is reported, not fatal: machines are noisy and the ratio is the figure of merit.
    return 0


if __name__ == "__main__":
    sys.exit(main())
