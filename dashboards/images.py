"""Rendering the PNG and SVG files of ``build --png`` (``site/png/``), apart from the page builders so the
worker processes import only this module and vl-convert.

Each distinct export spec is drawn once to SVG (Vega-Lite compiled and drawn in one vl-convert call) and
that SVG is rasterized once to PNG; charts whose export specs are identical (the same chart on two pages)
share the result.  A chart whose spec is unchanged since the last build keeps its files.  Rendering starts
as each chart is built, in worker processes, so it overlaps the building of the pages.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

IMAGE_MANIFEST = ".rendered.json"  # file stem -> hash of the export spec its PNG and SVG were made from
PNG_SCALE = 1.5  # 900 px of plot -> 1,437 px wide: sharp in a document on a HiDPI screen; SVG for more


def render_one(job: tuple[str, str | None]) -> tuple[str, bytes]:
    """One export spec (JSON text) as SVG text and the PNG made from that SVG; run in a worker process."""
    import vl_convert as vlc

    spec_json, version = job
    svg = vlc.vegalite_to_svg(spec_json, vl_version=version)
    return svg, vlc.svg_to_png(svg, scale=PNG_SCALE)


def _spawn_pool(workers: int) -> Any:
    """Worker processes started fresh (spawn): they import this module and vl-convert, not the builder's
    state, and never a copy of a process holding DuckDB connections or threads."""
    import concurrent.futures as cf
    import multiprocessing

    return cf.ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))


def site_assets(version: str | None, card: dict[str, Any]) -> tuple[str, bytes]:
    """The Vega, Vega-Lite and Vega-Embed bundle the pages load, and the link-preview card as PNG
    (together a few seconds of vl-convert's time, most of it starting its engine)."""
    import vl_convert as vlc

    return vlc.javascript_bundle(vl_version=version), vlc.vegalite_to_png(card, scale=1)


def start_assets(version: str | None, card: dict[str, Any]) -> Any:
    """A future of ``site_assets``, made in a worker process while the pages are built (vl-convert
    holds the interpreter while it works, so a thread would not overlap); None on a single core."""
    if (os.cpu_count() or 1) <= 1:
        return None
    pool = _spawn_pool(1)
    future = pool.submit(site_assets, version, card)
    pool.shutdown(wait=False)  # the worker ends once the assets are made
    return future


def _read_manifest(path: Path) -> dict[str, str]:
    try:
        done = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return done if isinstance(done, dict) else {}


class ImageRenderer:
    """Renders the export specs of ``build --png`` while the pages are still being built: ``add`` hands
    each changed spec to a pool of worker processes at once (one per core: vl-convert runs one
    JavaScript engine per process, so threads would wait on each other), ``finish`` writes the files and
    the manifest.  A spec identical to one already added is rendered once for both stems."""

    def __init__(self, out: Path, version: str | None, workers: int | None = None):
        self.folder = out / "png"
        self.version = version
        self.workers = workers or os.cpu_count() or 1
        self.done = _read_manifest(self.folder / IMAGE_MANIFEST)
        self.hashes: dict[str, str] = {}  # stem -> spec hash, for the manifest
        self.todo: dict[str, tuple[Any, list[str]]] = {}  # spec hash -> (future or spec JSON, stems)
        self.pool: Any = None

    def add(self, stem: str, spec: dict[str, Any]) -> None:
        text = json.dumps(spec, sort_keys=True, separators=(",", ":"))
        digest = hashlib.sha256(f"{self.version}:{PNG_SCALE}:{text}".encode()).hexdigest()
        self.hashes[stem] = digest
        fresh = all((self.folder / f"{stem}.{ext}").exists() for ext in ("svg", "png"))
        if self.done.get(stem) == digest and fresh:
            return
        if digest in self.todo:
            self.todo[digest][1].append(stem)
        else:
            self.todo[digest] = (self._submit(text), [stem])

    def _submit(self, text: str) -> Any:
        """A future of the rendering, or (one core) the spec itself, rendered here by ``finish``."""
        if self.workers <= 1:
            return text
        if self.pool is None:
            self.pool = _spawn_pool(self.workers)
        return self.pool.submit(render_one, (text, self.version))

    def finish(self) -> int:
        """Write every rendered SVG and PNG and the manifest; return how many specs were rendered."""
        from dashboards.builder import write  # here, not above: the workers import this module alone

        try:
            for job, stems in self.todo.values():
                svg, png = render_one((job, self.version)) if isinstance(job, str) else job.result()
                for stem in stems:
                    write(self.folder / f"{stem}.svg", svg)
                    write(self.folder / f"{stem}.png", png)
        finally:
            self.close()
        write(self.folder / IMAGE_MANIFEST, json.dumps(self.hashes, indent=0, sort_keys=True))
        return len(self.todo)

    def close(self) -> None:
        """Stop the workers (a build that failed half-way leaves no process behind)."""
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)
            self.pool = None
