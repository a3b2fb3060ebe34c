#!/usr/bin/env python3
"""test-web-viewer.py: slated's web viewer in headless Chromium: the screen shows, a tap reaches the app.

A device root at API level 4 runs slated with --display web:PORT and the tap test app
(tests/ui/tapapp.c: one big button). Debian's Chromium, driven over the DevTools protocol on
a pipe (--remote-debugging-pipe: JSON messages, NUL-terminated; Python's standard library is
enough, nothing is fetched), opens the viewer, waits for the screen to be drawn, clicks the
button on the canvas, and checks that the app counted the tap (its log) and that the screen
changed where the count is written. Run by meson as root (slated makes cgroups); skips, saying
why, when Chromium or root is missing.

usage: test-web-viewer.py SLATE SLATED TAPAPP
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

SKIP = 77  # meson's code for a skipped test


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait(what, fn, timeout=20.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = fn()
        if value:
            return value
        time.sleep(0.1)
    raise SystemExit(f"test-web-viewer: {what} did not happen within {timeout:.0f} s")


class Chromium:
    """Chromium's DevTools protocol over --remote-debugging-pipe: it reads fd 3, writes fd 4."""

    def __init__(self, profile):
        to_chrome_r, self.to_chrome = os.pipe()
        self.from_chrome, from_chrome_w = os.pipe()
        args = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                f"--user-data-dir={profile}", "--remote-debugging-pipe", "--window-size=800,1000", "about:blank"]

        def fds():
            os.dup2(to_chrome_r, 3)
            os.dup2(from_chrome_w, 4)

        # Python closes every fd not in pass_fds after preexec_fn ran: 3 and 4 must be kept too (the pipes
        # took the lowest free numbers, so 3 and 4 are open here and the list is valid).
        keep = tuple({to_chrome_r, from_chrome_w, 3, 4})
        self.proc = subprocess.Popen(args, pass_fds=keep, preexec_fn=fds,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self.buf = b""
        self.next_id = 0
        self.session = None

    def call(self, method, timeout=20.0, **params):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params}
        if self.session and not method.startswith("Target."):
            msg["sessionId"] = self.session
        os.write(self.to_chrome, json.dumps(msg).encode() + b"\0")
        end = time.monotonic() + timeout
        while True:
            while b"\0" not in self.buf:
                if time.monotonic() > end:
                    raise SystemExit(f"test-web-viewer: Chromium did not answer {method}")
                chunk = os.read(self.from_chrome, 1 << 20)
                if not chunk:
                    raise SystemExit("test-web-viewer: Chromium went away")
                self.buf += chunk
            line, self.buf = self.buf.split(b"\0", 1)
            reply = json.loads(line)
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise SystemExit(f"test-web-viewer: {method}: {reply['error']}")
                return reply.get("result", {})

    def open(self, url):
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        self.call("Page.enable")
        self.call("Page.navigate", url=url)

    def js(self, expression):
        r = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        return r.get("result", {}).get("value")

    def click(self, x, y):
        for kind in ("mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left", clickCount=1)

    def close(self):
        self.proc.kill()
        self.proc.wait()


# The screen's pixels in a band, as the page's canvas has them: a hash to compare before and after.
BAND = """(() => { const c = document.getElementById('screen');
  const d = c.getContext('2d').getImageData(0, %d, c.width, %d).data; let h = 0;
  for (let i = 0; i < d.length; i += 4) h = (h * 31 + d[i] + d[i+1] * 7 + d[i+2] * 13) | 0; return h; })()"""


def main():
    if len(sys.argv) != 4:
        raise SystemExit("usage: test-web-viewer.py SLATE SLATED TAPAPP")
    slate, slated, tapapp = sys.argv[1:]
    if os.geteuid() != 0:
        print("skipped: slated's sandboxes and cgroups need root")
        return SKIP
    if not shutil.which("chromium"):
        print("skipped: Debian's chromium is not installed (apt-get install chromium)")
        return SKIP
    work = tempfile.mkdtemp(prefix="slate-web-")
    os.chmod(work, 0o755)  # apps run as their own uid: the device root's folders must be searchable
    root = os.path.join(work, "root")
    daemon = browser = None
    try:
        run = lambda *a: subprocess.run([slate, "--root", root, *a], check=True, capture_output=True, text=True)
        run("init", "--api-level", "4", "--min-api-level", "1")
        subprocess.run([slate, "keygen", os.path.join(work, "dev")], check=True, capture_output=True)
        run("trust", os.path.join(work, "dev.pub"))
        src = os.path.join(work, "src")
        os.makedirs(os.path.join(src, "files", "bin"))
        shutil.copy(tapapp, os.path.join(src, "files", "bin", "tapapp"))
        with open(os.path.join(src, "manifest"), "w") as f:
            f.write("[package]\nid = org.test.tap\nversion = 1.0.0\napi_level = 4\nclass = app\n\n"
                    "[app]\nexec = bin/tapapp\nlabel = Tap\nmemory = 64M\n")
        slp = os.path.join(work, "tap.slp")
        subprocess.run([slate, "pack", src, "--key", os.path.join(work, "dev.key"), "-o", slp], check=True,
                       capture_output=True)
        run("install", slp)

        port = free_port()
        log = open(os.path.join(work, "slated.log"), "w")
        daemon = subprocess.Popen([slated, "--root", root, "--display", f"web:{port}"], stderr=log)
        wait("slated's readiness", lambda: os.path.exists(os.path.join(root, "run/slate/ready")))
        run("start", "org.test.tap")

        browser = Chromium(os.path.join(work, "profile"))
        browser.open(f"http://127.0.0.1:{port}/")
        # The app's first frame: the page shows a frame number once it drew one with the app on it.
        wait("the viewer's first frame", lambda: (browser.js("+(document.body.dataset.seq || 0)") or 0) >= 2)
        size = browser.js("(() => { const c = document.getElementById('screen'); const r = c.getBoundingClientRect();"
                          " return [c.width, c.height, r.left, r.top, r.width, r.height]; })()")
        w, h, left, top, cw, ch = size
        assert (w, h) == (720, 1600), f"the viewer's canvas is {w}x{h}, not the screen's 720x1600"
        # The count ("Not tapped") is drawn above the button, in the middle third of the screen.
        before = browser.js(BAND % (620, 120))
        # A click on the canvas where the button is (the screen's middle), in the page's coordinates.
        browser.click(left + cw * 360 / w, top + ch * 850 / h)
        wait("the app's tap", lambda: "tapped 1" in run("logs", "org.test.tap").stdout)
        wait("the screen's change", lambda: browser.js(BAND % (620, 120)) != before)
        print("ok: the viewer showed the app, a click reached its button, and the screen changed")
        return 0
    finally:
        if browser:
            browser.close()
        if daemon:
            daemon.send_signal(signal.SIGTERM)
            try:
                daemon.wait(timeout=15)
            except subprocess.TimeoutExpired:
                daemon.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
