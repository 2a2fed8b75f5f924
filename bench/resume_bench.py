"""What reading a résumé in a separate process costs per upload.

    uv run python bench/resume_bench.py --runs 30
    uv run python bench/resume_bench.py --runs 30 --compare   # + the ways not taken

For a one-page text PDF, a DOCX and a short TXT it times, per file:

* ``in-process``: ``read_resume`` called directly (what the old worker thread ran);
* ``reader``: ``ResumeReader.read`` with its parser host already started (each upload =
  one fork from the host + sending the file + the answer), and the difference;
* the first upload's extra cost: starting the parser host (an interpreter that imports
  pypdf and python-docx and reads three tiny files), paid once per slot.

``--compare`` also times the ways not taken, a few runs each (they are slow): a fresh
interpreter per file, and ``multiprocessing`` "forkserver" and "spawn" children started
from a main module that imports the service at its top level, as the ``vivavoce``
script does (both re-run that main module in every child).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # for tests.api

from tests.api import resume_files  # noqa: E402

from vivavoce.resume import ReaderLimits, ResumeReader, read_resume  # noqa: E402

FILES: dict[str, Callable[[], bytes]] = {
    "pdf": resume_files.text_pdf,
    "docx": resume_files.docx_file,
    "txt": lambda: "\n".join(resume_files.RESUME_LINES).encode(),
}


def _ms(samples: list[float]) -> str:
    ordered = sorted(samples)
    p50 = statistics.median(ordered)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"{p50 * 1000:7.1f} {p95 * 1000:7.1f}"


def _in_process(data: bytes, runs: int) -> list[float]:
    read_resume(data)  # warm: imports, pypdf's lazy modules
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        read_resume(data)
        samples.append(time.perf_counter() - started)
    return samples


async def _reader(runs: int) -> tuple[float, dict[str, list[float]]]:
    reader = ResumeReader(ReaderLimits(parallel=1))
    try:
        started = time.perf_counter()
        await reader.read(FILES["txt"]())
        first = time.perf_counter() - started
        out: dict[str, list[float]] = {}
        for kind, make in FILES.items():
            data = make()
            await reader.read(data)
            samples = []
            for _ in range(runs):
                started = time.perf_counter()
                await reader.read(data)
                samples.append(time.perf_counter() - started)
            out[kind] = samples
        return first, out
    finally:
        reader.close()


_MP_MAIN = """
import json, multiprocessing, sys, time
from vivavoce.cli import main as _cli_main  # what the `vivavoce` script does
from vivavoce.resume import read_resume

def child(conn, data):
    conn.send(read_resume(data).kind)
    conn.close()

if __name__ == "__main__":
    method, runs, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    data = open(path, "rb").read()
    context = multiprocessing.get_context(method)
    if method == "forkserver":
        context.set_forkserver_preload(["vivavoce.resume.extract", "pypdf", "docx"])
    samples = []
    for _ in range(runs + 1):
        started = time.perf_counter()
        receive, send = context.Pipe(duplex=False)
        process = context.Process(target=child, args=(send, data), daemon=True)
        process.start()
        send.close()
        receive.recv()
        process.join()
        process.close()
        receive.close()
        samples.append(time.perf_counter() - started)
    print(json.dumps(samples[1:]))  # the first one also starts the fork server
"""


def _multiprocessing(method: str, pdf: Path, runs: int) -> list[float]:
    script = pdf.with_name("mp_main.py")
    script.write_text(_MP_MAIN)
    done = subprocess.run(
        [sys.executable, str(script), method, str(runs), str(pdf)],
        check=True,
        capture_output=True,
        text=True,
    )
    samples: list[float] = json.loads(done.stdout)
    return samples


def _fresh_interpreter(pdf: Path, runs: int) -> list[float]:
    code = (
        "import sys; from vivavoce.resume import read_resume; "
        "read_resume(open(sys.argv[1], 'rb').read())"
    )
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", code, str(pdf)], check=True)
        samples.append(time.perf_counter() - started)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description="Per-upload cost of isolated résumé parsing.")
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--compare", action="store_true")
    parser.add_argument("--compare-runs", type=int, default=3)
    args = parser.parse_args()

    first, by_reader = asyncio.run(_reader(args.runs))
    print(f"parser host start-up (first upload on a slot): {first * 1000:.0f} ms\n")
    print("file  way          p50 ms  p95 ms")
    for kind, make in FILES.items():
        direct = _in_process(make(), args.runs)
        print(f"{kind:5} in-process  {_ms(direct)}")
        print(f"{kind:5} reader      {_ms(by_reader[kind])}")
        overhead = statistics.median(by_reader[kind]) - statistics.median(direct)
        print(f"{kind:5} overhead    {overhead * 1000:7.1f}")

    if args.compare:
        print(f"\nways not taken, pdf, {args.compare_runs} runs    p50 ms  p95 ms")
        with tempfile.TemporaryDirectory() as scratch:
            pdf = Path(scratch) / "cv.pdf"
            pdf.write_bytes(FILES["pdf"]())
            print(f"fresh interpreter           {_ms(_fresh_interpreter(pdf, args.compare_runs))}")
            for method in ("forkserver", "spawn"):
                samples = _multiprocessing(method, pdf, args.compare_runs)
                print(f"multiprocessing {method:11} {_ms(samples)}")


if __name__ == "__main__":
    main()
