#!/usr/bin/env python3
"""gen-payload.py: a deterministic, app-like payload for the install benchmark.

Usage: gen-payload.py OUTDIR [--seed N] [--files N] [--bytes N]

Writes about --files files (default 2000) adding up to exactly --bytes bytes
(default 50 MiB) under OUTDIR, in a tree several folders deep, and prints a
one-line summary. The same arguments give the same bytes on every run and every
Python 3.9+ (only random.Random(seed) with getrandbits/randbytes/random is used,
whose output CPython keeps stable for a given seed).

Content mix, by bytes, roughly what an app ships:
  ~20 %  incompressible: images, audio, fonts, already-compressed blobs
  ~45 %  text: JavaScript/CSS/HTML-like source, JSON, translation catalogs
  ~35 %  binary-like: tables of records, small integers, string pools, with
         some random noise (compresses about 2x)
No file starts with the ELF magic: the Slate installer audits every ELF file, so
the only ELF in the package is the app binary the benchmark adds itself.
"""
import argparse
import math
import os
import random
import struct
import sys

WORDS = """
the of and to in is that for it as with was on be by at this from or an are not have
but which one all were when we there can more if no out so said what up its about into
than them only other new some could time these two may first then do any like my now
over such our man me even most made after also did many before must through back years
where much your way well down should because each just those people how too little
state good very make world still own see men work long get here between both life being
under never day same another know while last might us great old year off come since
against go came right used take three user account window button label value index
state render update config option module export import return function const let var
async await promise event handler listener element style color width height margin
padding border display flex grid layout theme dark light primary secondary error warn
info debug trace message title subtitle description image icon path route request
response status header body json data cache store session token key secret public
private static final class interface extends implements package library service
network media audio video camera location storage contact calendar notification
""".split()

JSON_KEYS = """id name title description version type kind enabled visible width height x y
color background foreground font size weight locale text tooltip icon action target
children items count offset limit created updated author tags priority order""".split()

LANGS = "de en_GB es fr it ja ko nl pl pt_BR ru sv tr uk zh_CN zh_TW".split()


def text_words(rng, n):
    # Zipf-like word choice: realistic entropy for source and prose.
    weights = [1.0 / (i + 1) for i in range(len(WORDS))]
    return rng.choices(WORDS, weights=weights, k=n)


def gen_js(rng, size):
    out, total = [], 0
    while total < size:
        w = text_words(rng, 12)
        ident = "_".join(w[:2])
        line = rng.choice((
            f"  const {ident} = {w[2]}({w[3]}, {rng.randrange(1000)});\n",
            f"  if ({w[0]}.{w[1]} !== {w[2]}) {{ return {w[3]}; }}\n",
            f"export function {ident}({w[2]}, {w[3]}) {{\n",
            f"  // {' '.join(w)}\n",
            f"  {w[0]}.{w[1]}({w[2]}, \"{w[3]} {w[4]}\", {rng.random():.4f});\n",
            "}\n",
            f".{w[0]}-{w[1]} {{ {w[2]}: {rng.randrange(64)}px; color: #{rng.getrandbits(24):06x}; }}\n",
            f"<div class=\"{w[0]} {w[1]}\" id=\"{ident}{rng.randrange(10000)}\">{' '.join(w[2:])}</div>\n",
        ))
        out.append(line)
        total += len(line)
    return "".join(out).encode()[:size]


def gen_json(rng, size):
    out, total, n = ["[\n"], 2, 0
    while total < size:
        k = rng.sample(JSON_KEYS, 6)
        w = text_words(rng, 8)
        rec = (f'  {{"{k[0]}": {n}, "{k[1]}": "{w[0]} {w[1]}", "{k[2]}": {rng.randrange(1 << 20)}, '
               f'"{k[3]}": {str(rng.random() < 0.5).lower()}, "{k[4]}": "{" ".join(w[2:])}", '
               f'"{k[5]}": "{rng.getrandbits(64):016x}"}},\n')
        out.append(rec)
        total += len(rec)
        n += 1
    return "".join(out).encode()[:size]


def gen_catalog(rng, size):
    out, total = [], 0
    while total < size:
        w = text_words(rng, rng.randrange(3, 14))
        s = " ".join(w)
        t = " ".join(reversed(text_words(rng, len(w))))
        entry = f'msgid "{s}"\nmsgstr "{t}"\n\n'
        out.append(entry)
        total += len(entry)
    return "".join(out).encode()[:size]


def gen_binary(rng, size):
    # Records of small, correlated integers plus string pools and random runs.
    out, total, base = [], 0, rng.getrandbits(32)
    while total < size:
        kind = rng.random()
        if kind < 0.55:
            recs = []
            for _ in range(64):
                base = (base + rng.randrange(1, 300)) & 0xFFFFFFFF
                recs.append(struct.pack("<IHHI", base, rng.randrange(16), rng.randrange(4096), rng.getrandbits(12)))
            chunk = b"".join(recs)
        elif kind < 0.8:
            chunk = b"\0".join(w.encode() for w in text_words(rng, 120)) + b"\0"
        else:
            chunk = rng.randbytes(rng.randrange(256, 2048))
        out.append(chunk)
        total += len(chunk)
    data = b"".join(out)[:size]
    if data[:4] == b"\x7fELF":
        data = b"\0" + data[1:]
    return data


def gen_random(rng, size):
    data = rng.randbytes(size)
    if data[:4] == b"\x7fELF":
        data = b"\0" + data[1:]
    return data


# (weight by count, kind, generator, extensions, folder choices)
KINDS = [
    ("media", gen_random, ("png", "jpg", "webp", "ogg", "woff2", "gz"),
     ("share/assets/images", "share/assets/images/icons/{d}", "share/assets/sounds", "share/assets/fonts",
      "share/assets/images/{d}/{e}")),
    ("js", gen_js, ("js", "css", "html", "mjs"),
     ("web/js/{d}", "web/js/{d}/{e}", "web/css", "web/views/{d}", "lib/ui/{d}/{e}/{f}")),
    ("json", gen_json, ("json",),
     ("share/data/{d}", "share/data/{d}/{e}", "etc/defaults", "web/config")),
    ("catalog", gen_catalog, ("po", "txt"),
     ("share/locale/{lang}/LC_MESSAGES", "share/doc/{d}")),
    ("binary", gen_binary, ("dat", "bin", "idx", "pak", "db"),
     ("share/data/{d}/tables", "lib/{d}/data", "share/models/{d}/{e}", "var/cache/{d}")),
]
# byte shares the sizes are steered towards (see below)
SHARES = {"media": 0.20, "js": 0.25, "json": 0.10, "catalog": 0.10, "binary": 0.35}
DIRNAMES = "core widgets player editor sync search settings viewer maps chat store help".split()


def plan(rng, n_files, total_bytes):
    """Sizes: log-normal from a few hundred bytes to a few MB, scaled to the exact total."""
    files = []
    names = set()
    for i in range(n_files):
        # bias kinds so that bytes end up near SHARES: media and binary files are larger
        kind, gen, exts, dirs = rng.choices(KINDS, weights=(12, 40, 18, 15, 15))[0]
        mu = {"media": 10.5, "js": 8.9, "json": 8.6, "catalog": 9.0, "binary": 9.6}[kind]
        size = int(rng.lognormvariate(mu, 1.3))
        fmt = rng.choice(dirs)
        folder = fmt.format(d=rng.choice(DIRNAMES), e=rng.choice(DIRNAMES), f=rng.choice(DIRNAMES),
                            lang=rng.choice(LANGS))
        while True:
            stem = "_".join(rng.sample(WORDS, 2)) + (str(rng.randrange(100)) if rng.random() < 0.3 else "")
            path = f"{folder}/{stem}.{rng.choice(exts)}"
            if path not in names:
                break
        names.add(path)
        files.append([path, kind, gen, size])
    # a handful of large assets, as real apps have (bundles, models, sound banks)
    for f in rng.sample(files, 6):
        if f[1] in ("media", "binary", "js"):
            f[3] = rng.randrange(1 << 20, 4 << 20)
    # scale every kind towards its byte share, then fix the exact total on the largest file
    for kind, share in SHARES.items():
        group = [f for f in files if f[1] == kind]
        have = sum(f[3] for f in group)
        if have:
            k = share * total_bytes / have
            for f in group:
                f[3] = max(200, min(4 << 20, int(f[3] * k)))
    diff = total_bytes - sum(f[3] for f in files)
    largest = max(files, key=lambda f: f[3])
    largest[3] += diff
    return files


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("outdir")
    ap.add_argument("--seed", type=int, default=20240601)
    ap.add_argument("--files", type=int, default=2000)
    ap.add_argument("--bytes", type=int, default=50 << 20)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    files = plan(rng, a.files, a.bytes)
    by_kind = {}
    for path, kind, gen, size in sorted(files, key=lambda f: f[0]):
        # one sub-generator per file: its bytes depend only on the seed and its path
        frng = random.Random(f"{a.seed}:{path}")
        data = gen(frng, size)
        assert len(data) == size, (path, len(data), size)
        full = os.path.join(a.outdir, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "wb") as fh:
            fh.write(data)
        os.chmod(full, 0o644)
        by_kind[kind] = by_kind.get(kind, 0) + size
    total = sum(by_kind.values())
    dirs = {os.path.dirname(f[0]) for f in files}
    depth = max(f[0].count("/") for f in files)
    mix = ", ".join(f"{k} {100 * v / total:.0f}%" for k, v in sorted(by_kind.items()))
    sizes = sorted(f[3] for f in files)
    print(f"payload: {len(files)} files, {total} bytes, {len(dirs)} folders, depth {depth}, "
          f"sizes {sizes[0]}..{sizes[-1]} (median {sizes[len(sizes) // 2]}); mix: {mix}")


if __name__ == "__main__":
    sys.exit(main())
