"""The extraction floor: Python trafilatura on the pages benches/extract.rs decoded.

usage: extract_floor.py DIR RUNS   (DIR holds the decoded pages as UTF-8 .html files)

Times trafilatura.extract() on each page RUNS times in this process (after one warm-up call on
the first page, so imports and lazy set-up are not counted), takes each page's median, and
prints the median and mean over pages in the line benches/extract.rs reads.
"""

import os
import statistics
import sys
import time

import trafilatura


def main():
    folder, runs = sys.argv[1], int(sys.argv[2])
    names = sorted(n for n in os.listdir(folder) if n.endswith(".html"))
    pages = [open(os.path.join(folder, n), encoding="utf-8").read() for n in names]
    trafilatura.extract(pages[0])
    per_page = []
    for html in pages:
        times = []
        for _ in range(max(runs, 1)):
            started = time.perf_counter()
            trafilatura.extract(html)
            times.append((time.perf_counter() - started) * 1000)
        per_page.append(statistics.median(times))
    print(
        f"extract | Python trafilatura {trafilatura.__version__}: {len(pages)} pages, "
        f"median {statistics.median(per_page):.2f} ms, mean {statistics.mean(per_page):.2f} ms a page"
    )


if __name__ == "__main__":
    main()
