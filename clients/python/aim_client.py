"""Record runs into an aim repository from Python: one file, standard library
only, Python 3.8+, shaped like Aim's SDK so that an Aim user changes one
import::

    from aim_client import Run

    run = Run(experiment="base")
    run["hparams"] = {"lr": 0.01, "batch_size": 64}
    for i in range(1000):
        run.track(loss, name="loss", step=i, epoch=e, context={"subset": "train"})
    run.close()

Under ``aim run`` (``AIM_TRACK_FD`` names an open pipe) the run is ``aim
run``'s own and this client writes the tracking protocol to that pipe; the
command's exit code or signal decides how the run ends. Every Run of the
process, and of processes it forks, shares that one run: track from one
process only (rank 0), as lines from several processes may interleave.
Otherwise it starts ``aim track`` (the command in ``AIM_BIN``, split like a
shell would, else ``aim`` on PATH), which creates the repository when there
is none, as Aim's SDK does (at ``repo=`` or ``AIM_REPO``, else ``./.aim``),
and writes to its standard input: ``close()`` finishes the run, and a
process that dies without it (an exception, SIGKILL) closes the pipe, which
``aim track`` records as ``failed``.

With ``repo`` (or ``AIM_REPO``) set to the URL of ``aim up``
(``http://host:43800``, with its base path if any) the run is tracked
remotely, with the token in ``AIM_TOKEN``: a background thread sends the
lines in numbered batches and keeps each until the server says it is
stored, resending after a network error or a server restart (the server
recognizes a batch it has). ``track()`` never waits on the network; it waits
only when ``AIM_REMOTE_BUFFER`` bytes (64 MiB, about 800,000 points) are
unacknowledged, so memory stays bounded and no point is dropped.
``close()`` waits for the server (``AIM_CLOSE_TIMEOUT`` seconds, 120) and
raises ``RemoteError`` saying what was not stored if it is gone.

``track()`` only formats a line and appends it to a buffer (about a
microsecond); the buffer is written when it holds 1024 lines, every half
second from a daemon thread, and on ``close()`` and at exit. A process
killed by a signal loses at most the unwritten buffer.

``Repo(path_or_url).query_runs(q)`` and ``.query_metrics(q)`` read runs
back (through the ``aim`` command for a path, through the HTTP API for a
URL); ``.dataframe()`` turns either into a pandas DataFrame.

Besides numbers, ``track()`` records images, distributions and texts, as
Aim's SDK does::

    from aim_client import Distribution, Image, Run, Text

    run.track([Image(x, caption=str(label)) for x, label in batch],
              name="samples", step=step, context={"subset": "val"})
    run.track(Distribution(model.fc.weight), name="weights", step=step)
    run.track(Text(generated), name="generations", step=step)

``Image`` takes a PIL image, a NumPy array or a PyTorch tensor (H×W,
H×W×C or C×H×W; float in [0, 1] or uint8), PNG or JPEG bytes, or a path;
it encodes PNG with the standard library alone (zlib) when PIL is absent.
"""

import atexit
import base64
import datetime
import http.client
import json
import math
import operator
import os
import re
import select
import shlex
import shutil
import ssl
import stat
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import weakref
from array import array
import zlib
from collections import deque

__all__ = ["Run", "Repo", "RemoteError", "Image", "Distribution", "Text"]

#: Seconds between background writes of the buffer.
FLUSH_INTERVAL = 0.5
#: Lines buffered before ``track()`` writes them itself.
BUFFER_LINES = 1024
#: Bytes a remote run keeps until the server acknowledges them; beyond,
#: ``track()`` waits (``AIM_REMOTE_BUFFER`` overrides it).
REMOTE_BUFFER_BYTES = 64 << 20
#: Bytes per batch sent to the server, at most.
BATCH_BYTES = 2 << 20
#: Seconds ``close()`` waits for the server (``AIM_CLOSE_TIMEOUT`` overrides it).
CLOSE_TIMEOUT = 120.0
#: A remote run with nothing to send tells the server it is alive this often
#: (seconds); the server waits 60 s by default before recording it crashed.
KEEPALIVE = 10.0
#: Seconds the first contact with the server may take before ``Run()``
#: goes on and keeps trying in the background.
OPEN_TIMEOUT = 5.0
#: Seconds one request may take before it is sent again.
REQUEST_TIMEOUT = 60.0

_NON_FINITE = {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}
_time = time.time
_dumps = json.dumps

# JSON text of names, and the `, "context": …` part of lines for all-string
# contexts, cached under tuple(context.items()): no other value compares
# equal to a str, so contexts that differ only in True, 1 and 1.0 never
# share an entry.
_names = {}
_contexts = {}
_CACHE_LIMIT = 4096

#: Most characters of an object line (aim reads lines of up to 1 MiB).
LINE_BUDGET = 1_000_000
#: Largest image sent inline as base64; a larger one is handed over as a file.
INLINE_IMAGE_BYTES = 700_000
#: Largest image aim stores, in bytes as encoded.
MAX_IMAGE_BYTES = 16 << 20
#: Bytes of object lines buffered before ``track()`` writes them itself.
BUFFER_BYTES = 4 << 20

# Under aim run every Run of the process writes to the same pipe.
_fd_lock = threading.Lock()
# Runs not closed yet, held here so that one dropped without close() is
# still written and closed at exit rather than lost to the garbage collector.
_open_runs = []


def _float_text(value):
    text = repr(value)
    if text[-1] in "fn":  # inf, -inf, nan
        return _NON_FINITE[text]
    return text


def _number_text(value, name):
    """The JSON text of a metric value; TypeError unless it is a real number."""
    if isinstance(value, (str, bytes, bytearray)) or value is None:
        raise TypeError(
            "track() needs a number for series %r, got %s %r"
            % (name, type(value).__name__, value)
        )
    if type(value) is bool:
        return "1" if value else "0"
    try:
        number = float(value)  # numpy scalars, 1-element tensors, Decimal
    except (TypeError, ValueError) as error:
        raise TypeError(
            "track() needs a number for series %r, got %s"
            % (name, type(value).__name__)
        ) from error
    return _float_text(number)


def _integer(value, what, name):
    if type(value) is bool:
        raise TypeError(
            "track() %s for series %r must be an integer, got a bool" % (what, name)
        )
    try:
        return operator.index(value)  # int, numpy integers
    except TypeError:
        raise TypeError(
            "track() %s for series %r must be an integer, got %s %r"
            % (what, name, type(value).__name__, value)
        ) from None


def _quoted_name(name):
    quoted = _names.get(name)
    if quoted is None:
        if type(name) is not str or not name:
            raise TypeError(
                "track() needs a non-empty string name, got %s %r"
                % (type(name).__name__, name)
            )
        if len(_names) >= _CACHE_LIMIT:
            _names.clear()
        quoted = _names[name] = _dumps(name)
    return quoted


def _context_part(context):
    """``, "context": {...}`` for a dict; TypeError for anything else."""
    if type(context) is not dict:
        raise TypeError(
            "track() context must be a dict, got %s" % type(context).__name__
        )
    if not context:
        return ""
    try:
        part = ', "context": ' + _dumps(context)
    except (TypeError, ValueError) as error:
        raise TypeError("track() context must be JSON-like: %s" % error) from None
    if all(type(v) is str for v in context.values()):
        if len(_contexts) >= _CACHE_LIMIT:
            _contexts.clear()
        _contexts[tuple(context.items())] = part
    return part


def _write_all(fd, data):
    view = memoryview(data)
    while view:
        try:
            view = view[os.write(fd, view) :]
        except BlockingIOError:  # a non-blocking pipe that is full: wait for room
            select.select([], [fd], [])


def _tracking_fd():
    """AIM_TRACK_FD when it names an open pipe or socket, else None.

    A program started by the command with its descriptors closed (as
    subprocess does by default) inherits the variable but not the pipe;
    its fd 3, if any, is something else and must not be written to.
    """
    text = os.environ.get("AIM_TRACK_FD")
    if not text:
        return None
    try:
        fd = int(text)
        mode = os.fstat(fd).st_mode
    except (ValueError, OSError):
        return None
    return fd if stat.S_ISSOCK(mode) or stat.S_ISFIFO(mode) else None


def _aim_command(what="aim track"):
    """The command that runs aim: AIM_BIN split like a shell would, else aim on PATH."""
    configured = os.environ.get("AIM_BIN")
    if configured:
        return shlex.split(configured)
    found = shutil.which("aim")
    if found is None:
        raise FileNotFoundError(
            "Cannot start `%s`: aim is not on PATH and AIM_BIN is not set " % what +
            "(set AIM_BIN to the aim binary or to a command such as "
            "'deno run -A /path/to/aim/main.ts')"
        )
    return [found]


class _FdSink:
    """The tracking pipe of `aim run`, shared by every Run of the process."""

    def __init__(self, fd):
        self.fd = fd
        self.broken = False

    def write(self, data):
        with _fd_lock:
            _write_all(self.fd, data)

    def close(self, finished, timeout=None):
        pass  # the pipe belongs to the process, and aim run ends the run


class _TrackSink:
    """A child `aim track` process fed on its standard input."""

    def __init__(self, repo, experiment, name, description, tags):
        # --init: a missing repository is created, as Aim's SDK does.
        args = _aim_command() + ["track", "--init"]
        if repo is not None:
            args += ["--repo", os.fspath(repo)]
        if experiment is not None:
            args += ["--experiment", experiment]
        if name is not None:
            args += ["--name", name]
        if description is not None:
            args += ["--description", description]
        for tag in tags:
            args += ["--tag", tag]
        # Its own session: a Ctrl-C for Python must not end the run before
        # Python has written its last points; EOF on the pipe ends it instead.
        self.process = subprocess.Popen(
            args,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            start_new_session=True,
        )
        first = self.process.stdout.readline().decode("utf-8", "replace").strip()
        if not first:
            code = self.process.wait()
            raise RuntimeError(
                "`%s` ended (exit code %s) before printing the run's hash; "
                "its error is above" % (" ".join(args), code)
            )
        self.hash = first
        self.fd = self.process.stdin.fileno()
        self.broken = False

    def write(self, data):
        _write_all(self.fd, data)

    def close(self, finished, timeout=None):
        try:
            self.process.stdin.close()
        except OSError:
            pass
        try:
            self.process.wait(timeout=120)
        except subprocess.TimeoutExpired:
            sys.stderr.write(
                "aim_client: warning: aim track (pid %d) is still finalizing the run\n"
                % self.process.pid
            )
        self.process.stdout.close()

# --- objects: images, distributions, texts ---------------------------------

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _module_of(value):
    return type(value).__module__.split(".")[0]


def _numpy():
    try:
        import numpy
    except ImportError:
        return None
    return numpy


def _png_chunk(kind, body):
    return (
        struct.pack(">I", len(body))
        + kind
        + body
        + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
    )


def _encode_png(width, height, channels, rows):
    """A PNG of 8-bit pixels; ``rows`` is the raw scanlines, each led by its filter byte."""
    color = {1: 0, 2: 4, 3: 2, 4: 6}[channels]
    return (
        _PNG_SIGNATURE
        + _png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, color, 0, 0, 0))
        + _png_chunk(b"IDAT", zlib.compress(bytes(rows), 6))
        + _png_chunk(b"IEND", b"")
    )


def _channels_last(shape, torch_layout):
    """Whether an array of 3 dimensions is H×W×C (else C×H×W)."""
    last = shape[2] in (1, 2, 3, 4)
    first = shape[0] in (1, 2, 3, 4)
    if last and first:
        return not torch_layout  # PyTorch keeps channels first, NumPy and PIL last
    if last or first:
        return last
    raise ValueError(
        "Image() needs an array of H×W, H×W×C or C×H×W with 1 to 4 channels, got shape %s"
        % (tuple(shape),)
    )


def _array_png(array, torch_layout):
    """A PNG from a NumPy array: float in [0, 1] or integers in [0, 255]."""
    np = _numpy()
    a = np.asarray(array)
    if a.ndim == 3:
        if not _channels_last(a.shape, torch_layout):
            a = a.transpose(1, 2, 0)
        if a.shape[2] == 1:
            a = a[:, :, 0]
    if a.ndim not in (2, 3) or a.size == 0:
        raise ValueError(
            "Image() needs an array of H×W, H×W×C or C×H×W, got shape %s" % (a.shape,)
        )
    if a.dtype == np.bool_:
        a = a.astype(np.uint8) * 255
    elif a.dtype.kind == "f":
        a = np.nan_to_num(a.astype(np.float64), nan=0.0)
        a = np.rint(np.clip(a, 0.0, 1.0) * 255.0).astype(np.uint8)
    elif a.dtype != np.uint8:
        a = np.clip(a, 0, 255).astype(np.uint8)
    height, width = a.shape[0], a.shape[1]
    channels = 1 if a.ndim == 2 else a.shape[2]
    flat = np.ascontiguousarray(a).reshape(height, width * channels)
    rows = np.concatenate([np.zeros((height, 1), np.uint8), flat], axis=1)
    return _encode_png(width, height, channels, rows.tobytes())


def _list_png(rows):
    """A PNG from nested lists (no NumPy): H×W of gray or H×W×C, values in [0, 1] or 0..255."""
    height = len(rows)
    if height == 0 or not isinstance(rows[0], (list, tuple)) or len(rows[0]) == 0:
        raise ValueError("Image() needs a non-empty list of rows")
    width = len(rows[0])
    first = rows[0][0]
    channels = len(first) if isinstance(first, (list, tuple)) else 1
    if channels not in (1, 2, 3, 4):
        raise ValueError("Image() needs 1 to 4 channels, got %d" % channels)
    floats = any(
        isinstance(v, float)
        for row in rows
        for pixel in row
        for v in (pixel if channels > 1 else (pixel,))
    )
    out = bytearray()
    for y, row in enumerate(rows):
        if len(row) != width:
            raise ValueError("Image() rows differ in length: row %d has %d, row 0 %d" % (y, len(row), width))
        out.append(0)
        for pixel in row:
            for v in (pixel if channels > 1 else (pixel,)):
                if floats:
                    v = 0.0 if v != v else min(1.0, max(0.0, v)) * 255.0
                out.append(int(min(255, max(0, round(v)))))
    return _encode_png(width, height, channels, out)


def _pil_bytes(image, fmt, quality, optimize):
    import io

    buffer = io.BytesIO()
    if fmt == "jpeg":
        if image.mode not in ("L", "RGB", "CMYK"):
            image = image.convert("RGB")
        image.save(buffer, format="JPEG", quality=quality, optimize=optimize)
    else:
        if image.mode not in ("1", "L", "LA", "P", "RGB", "RGBA", "I;16"):
            image = image.convert("RGBA" if "A" in image.mode else "RGB")
        image.save(buffer, format="PNG", optimize=optimize)
    return buffer.getvalue()


def _image_bytes(image, fmt, quality, optimize):
    """The PNG or JPEG bytes of anything Image() accepts, and their format."""
    if isinstance(image, (bytes, bytearray, memoryview)):
        data = bytes(image)
    elif isinstance(image, (str, os.PathLike)):
        with open(image, "rb") as file:
            data = file.read()
    else:
        module = _module_of(image)
        if module == "PIL":
            data = _pil_bytes(image, fmt, quality, optimize)
        elif module == "torch":
            tensor = image.detach().cpu()
            if tensor.is_floating_point():
                tensor = tensor.float()  # NumPy has no bfloat16
            data = _array_png(tensor.numpy(), torch_layout=True)
        elif module == "numpy":
            data = _array_png(image, torch_layout=False)
        elif isinstance(image, (list, tuple)):
            np = _numpy()
            data = _array_png(np.asarray(image), False) if np is not None else _list_png(image)
        else:
            raise TypeError(
                "Image() takes a PIL image, a NumPy array, a PyTorch tensor, "
                "PNG or JPEG bytes or a path, got %s" % type(image).__name__
            )
        if fmt == "jpeg" and data.startswith(_PNG_SIGNATURE):
            data = _to_jpeg(data, quality, optimize)
    if data.startswith(_PNG_SIGNATURE):
        return data, "png"
    if data[:3] == b"\xff\xd8\xff":
        return data, "jpeg"
    try:
        from PIL import Image as PILImage
        import io

        return _pil_bytes(PILImage.open(io.BytesIO(data)), fmt, quality, optimize), fmt
    except ImportError:
        raise ValueError(
            "Image() got bytes that are not a PNG or a JPEG (they start with %r) "
            "and PIL is not installed to convert them" % data[:8]
        ) from None


def _to_jpeg(png, quality, optimize):
    try:
        from PIL import Image as PILImage
    except ImportError:
        raise ValueError("Image(format='jpeg') needs PIL to encode JPEG") from None
    import io

    return _pil_bytes(PILImage.open(io.BytesIO(png)), "jpeg", quality, optimize)


def _caption(caption):
    if caption is None:
        return ""
    if type(caption) is not str:
        raise TypeError("A caption must be a string, got %s" % type(caption).__name__)
    return caption


class Image:
    """An image to ``track()``, as Aim's ``aim.Image``.

    ``image`` is a PIL image, a NumPy array or a PyTorch tensor (H×W, H×W×C
    or C×H×W with 1 to 4 channels; float in [0, 1] or integers in 0..255;
    a tensor's first axis is taken as channels when both ends could be),
    PNG or JPEG bytes, or a path to an image file. Arrays are encoded as PNG
    with zlib alone; ``format="jpeg"`` (with ``quality``) needs PIL.
    """

    __slots__ = ("data", "format", "caption")

    def __init__(self, image, caption="", format="png", quality=90, optimize=False):
        fmt = str(format).lower()
        if fmt == "jpg":
            fmt = "jpeg"
        if fmt not in ("png", "jpeg"):
            raise ValueError("Image() format must be 'png' or 'jpeg', got %r" % (format,))
        self.caption = _caption(caption)
        self.data, self.format = _image_bytes(image, fmt, int(quality), bool(optimize))
        if len(self.data) > MAX_IMAGE_BYTES:
            raise ValueError(
                "Image() is %d bytes as %s, more than the %d aim stores"
                % (len(self.data), self.format.upper(), MAX_IMAGE_BYTES)
            )

    def _item(self, files_ok=True):
        """The image's part of a protocol line (a file for a large one, when aim shares this machine's files)."""
        caption = ', "caption": ' + _dumps(self.caption) if self.caption else ""
        if len(self.data) <= INLINE_IMAGE_BYTES:
            return '{"data": "' + base64.b64encode(self.data).decode("ascii") + '"' + caption + "}"
        if not files_ok:
            raise ValueError(
                "Image() is %d bytes as %s: tracking to a remote aim sends images inline, at most %d bytes each; "
                "make it smaller (a lower resolution, or format='jpeg')"
                % (len(self.data), self.format.upper(), INLINE_IMAGE_BYTES)
            )
        # aim reads the file when it reads the line, then deletes it.
        fd, path = tempfile.mkstemp(prefix="aim-upload-", suffix="." + self.format)
        with os.fdopen(fd, "wb") as file:
            file.write(self.data)
        return '{"path": ' + _dumps(path) + ', "remove": true' + caption + "}"


def _finite_samples(values):
    """Floats of ``values`` (a NumPy array, a tensor, any iterable), NaN and ±inf left out."""
    np = _numpy()
    module = _module_of(values)
    if module == "torch":
        values = values.detach().cpu().float().numpy()
        module = "numpy"
    if np is not None and (module == "numpy" or not isinstance(values, (list, tuple))):
        a = np.asarray(values, dtype=np.float64).ravel()
        return a[np.isfinite(a)]
    out = []
    for v in values:
        f = float(v)
        if math.isfinite(f):
            out.append(f)
    return out


class Distribution:
    """A histogram to ``track()``, as Aim's ``aim.Distribution``.

    ``distribution`` is raw samples (a NumPy array, a PyTorch tensor such
    as a layer's weights, or any iterable of numbers), binned in
    ``bin_count`` equal bins from their lowest to their highest value (NaN
    and infinities are left out); or a histogram as ``(counts, edges)``
    (what ``numpy.histogram`` returns). ``hist=counts`` with
    ``bin_range=(low, high)`` gives one directly.
    """

    __slots__ = ("counts", "edges", "low", "high")

    def __init__(self, distribution=None, bin_count=64, hist=None, bin_range=None):
        self.edges = None
        if hist is not None:
            if bin_range is None or len(bin_range) != 2:
                raise ValueError("Distribution(hist=...) needs bin_range=(low, high)")
            self.counts = [float(c) for c in _finite_samples_keep(hist)]
            self.low, self.high = float(bin_range[0]), float(bin_range[1])
        elif (
            isinstance(distribution, tuple)
            and len(distribution) == 2
            and len(distribution[1]) == len(distribution[0]) + 1
        ):
            self.counts = [float(c) for c in _finite_samples_keep(distribution[0])]
            self.edges = [float(e) for e in _finite_samples_keep(distribution[1])]
            self.low, self.high = self.edges[0], self.edges[-1]
        elif distribution is not None:
            self._from_samples(distribution, bin_count)
        else:
            raise ValueError("Distribution() needs samples, (counts, edges), or hist= with bin_range=")
        if not self.counts or any(not (c >= 0 and math.isfinite(c)) for c in self.counts):
            raise ValueError("Distribution() counts must be finite numbers of at least 0, got %r" % (self.counts[:10],))
        if not (self.low < self.high):
            raise ValueError("Distribution() range must have low < high, got (%r, %r)" % (self.low, self.high))

    def _from_samples(self, samples, bins):
        if type(bins) is not int or not 1 <= bins <= 4096:
            raise ValueError("Distribution() bin_count must be an integer from 1 to 4096, got %r" % (bins,))
        values = _finite_samples(samples)
        np = _numpy()
        if len(values) == 0:
            low, high = 0.0, 1.0
        else:
            low, high = float(min(values)), float(max(values))
            if low == high:
                low, high = low - 0.5, high + 0.5
        if np is not None and not isinstance(values, list):
            counts, _ = np.histogram(values, bins=bins, range=(low, high))
            self.counts = [float(c) for c in counts]
        else:
            counts = [0.0] * bins
            width = (high / 2 - low / 2) / bins
            for v in values:
                counts[min(bins - 1, int((v / 2 - low / 2) // width))] += 1
            self.counts = counts
        self.low, self.high = low, high

    def _item(self, files_ok=True):
        counts = "[" + ", ".join(_float_text(c) for c in self.counts) + "]"
        if self.edges is not None:
            edges = "[" + ", ".join(_float_text(e) for e in self.edges) + "]"
            return '{"counts": ' + counts + ', "edges": ' + edges + "}"
        return (
            '{"counts": ' + counts + ', "range": ['
            + _float_text(self.low) + ", " + _float_text(self.high) + "]}"
        )


def _finite_samples_keep(values):
    """The numbers of ``values`` as a list (a NumPy array or a tensor too), unfiltered."""
    if _module_of(values) == "torch":
        values = values.detach().cpu().double().numpy()
    if _module_of(values) == "numpy":
        values = values.tolist()
    return list(values)


class Text:
    """A text to ``track()``, as Aim's ``aim.Text``: a string (up to 1 MiB of UTF-8)."""

    __slots__ = ("text", "caption")

    def __init__(self, text, caption=""):
        if not isinstance(text, str):
            raise TypeError("Text() needs a string, got %s" % type(text).__name__)
        self.text = text
        self.caption = _caption(caption)

    def _item(self, files_ok=True):
        if not self.caption:
            return _dumps(self.text)
        return '{"text": ' + _dumps(self.text) + ', "caption": ' + _dumps(self.caption) + "}"


_OBJECT_KEYS = {Image: "image", Distribution: "distribution", Text: "text"}




class RemoteError(RuntimeError):
    """A remote run's data did not all reach the server: the message says
    what was stored (every acknowledged point) and what was not."""


def _is_url(text):
    return isinstance(text, str) and text.startswith(("http://", "https://"))


def _env_number(name, fallback):
    text = os.environ.get(name)
    if not text:
        return fallback
    try:
        value = float(text)
    except ValueError:
        raise ValueError("%s must be a number, got %r" % (name, text)) from None
    if value < 0:
        raise ValueError("%s must not be negative, got %r" % (name, text))
    return value


class _ServerError(Exception):
    """An error answer from aim up: its HTTP status, code and message."""

    def __init__(self, status, code, message):
        super().__init__(message)
        self.status = status
        self.code = code

    @property
    def retryable(self):
        # 5xx: a server starting, stopping or out of disk; run_live: a server
        # that restarted sees its former self's lock for a moment.
        return self.status >= 500 or self.status == 429 or self.code == "run_live"


class _Http:
    """One kept-alive connection to aim up (reopened after any failure)."""

    def __init__(self, url, token, source="AIM_TOKEN"):
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(
                "the URL of aim up must look like http://host:43800, got %r" % (url,)
            )
        self.url = url.rstrip("/")
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port
        self._base = parts.path.rstrip("/")
        # An HTTP header cannot carry it: http.client would fail each request
        # as if the network had, and the run would wait out its timeout.
        if token and not all("!" <= c <= "~" for c in token):
            raise ValueError(
                "%s holds a space, a line break or a character outside "
                "printable ASCII (%d characters): set it to the token aim up "
                "printed, alone" % (source, len(token))
            )
        self._headers = {"Authorization": "Bearer " + token} if token else {}
        self._conn = None
        self.timeout = REQUEST_TIMEOUT

    def request(self, method, path, body=None, content_type="application/json"):
        """The answer's bytes and content type; _ServerError for an error
        answer, OSError or HTTPException when the server cannot be reached."""
        if self._conn is None:
            if self._https:
                # The system's CAs; SSL_CERT_FILE adds a private one.
                self._conn = http.client.HTTPSConnection(
                    self._host, self._port, timeout=self.timeout,
                    context=ssl.create_default_context(),
                )
            else:
                self._conn = http.client.HTTPConnection(
                    self._host, self._port, timeout=self.timeout
                )
        headers = dict(self._headers)
        if body is not None:
            headers["Content-Type"] = content_type
        try:
            self._conn.timeout = self.timeout
            if self._conn.sock is not None:
                self._conn.sock.settimeout(self.timeout)
            self._conn.request(method, self._base + path, body=body, headers=headers)
            response = self._conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException):
            self.close()
            raise
        if response.status >= 400:
            try:
                error = json.loads(data)["error"]
                code, message = error["code"], error["message"]
            except (ValueError, KeyError, TypeError):
                code = "http"
                message = "HTTP %d from %s%s: %s" % (
                    response.status, self.url, path,
                    # A proxy's error page, told in one line.
                    " ".join(re.sub(r"<[^>]*>", " ", data[:2000].decode("utf-8", "replace")).split())[:200],
                )
            raise _ServerError(response.status, code, message)
        return data, response.getheader("Content-Type") or ""

    def json(self, method, path, value=None):
        body = None if value is None else json.dumps(value).encode("utf-8")
        data, _ = self.request(method, path, body)
        return json.loads(data)

    def close(self):
        if self._conn is not None:
            try:
                self._conn.close()
            except OSError:
                pass
            self._conn = None


_NETWORK_ERRORS = (OSError, http.client.HTTPException, ValueError)


def _url_hint(error):
    if error.status != 404:
        return ""
    return " (is this the URL aim up printed, with its --base-path if it has one?)"


def _untrusted(url, error):
    return (
        "cannot trust the certificate of %s (%s): for a private certificate, "
        "set SSL_CERT_FILE to its PEM file or its CA's" % (url, error)
    )


class _RemoteSink:
    """A run on aim up, fed over HTTP by a background thread.

    Lines are kept until the server acknowledges the batch that holds them
    (it does once they are stored); a batch is sent again, with the same
    number, after any failure, and the server recognizes one it has.
    ``write()`` waits only when REMOTE_BUFFER_BYTES are unacknowledged.
    """

    def __init__(self, url, experiment, name, description, tags):
        self.hash = os.urandom(10).hex()
        self.url = url.rstrip("/")
        self.broken = False
        self._http = _Http(url, os.environ.get("AIM_TOKEN"))
        self._limit = int(_env_number("AIM_REMOTE_BUFFER", REMOTE_BUFFER_BYTES))
        self._open_body = {
            "hash": self.hash,
            "experiment": experiment or "",
            "name": name or "",
            "description": description or "",
            "tags": list(tags),
        }
        self._cond = threading.Condition()
        self._queue = deque()
        self._queued = 0  # unacknowledged bytes, the batch in flight included
        self._inflight = None  # (seq, body)
        self._next_seq = 1
        self._acked = 0
        self._opened = False
        self._stopped = False
        self._fatal = None
        self._last_error = None
        self._unreachable_since = None
        self._waiting = False
        self._last_contact = time.monotonic()
        self._malformed = 0
        # One quick try, so that a wrong token or URL is an error here;
        # an unreachable server is tried again in the background.
        self._http.timeout = OPEN_TIMEOUT
        try:
            self._open()
        except _ServerError as error:
            if not error.retryable:
                raise RuntimeError(
                    "aim up at %s refused the run: %s%s" % (self.url, error, _url_hint(error))
                ) from None
            self._unreachable(error)
        except ssl.SSLCertVerificationError as error:
            raise RuntimeError(_untrusted(self.url, error)) from None
        except _NETWORK_ERRORS as error:
            self._unreachable(error)
        self._http.timeout = REQUEST_TIMEOUT
        self._thread = threading.Thread(target=self._loop, name="aim-remote", daemon=True)
        self._thread.start()

    def write(self, data):
        with self._cond:
            if self._fatal is not None:
                raise OSError(str(self._fatal))
            if self._queued and self._queued + len(data) > self._limit:
                if not self._waiting:
                    self._waiting = True
                    sys.stderr.write(
                        "aim_client: run %s: %d MiB wait for %s%s; track() waits "
                        "until it takes them (nothing is dropped)\n"
                        % (self.hash, self._queued >> 20, self.url, self._why())
                    )
                while (
                    self._queued and self._queued + len(data) > self._limit
                    and self._fatal is None
                ):
                    self._cond.wait()
                if self._fatal is not None:
                    raise OSError(str(self._fatal))
            self._queue.append(data)
            self._queued += len(data)
            self._cond.notify_all()

    def close(self, finished, timeout=None):
        if timeout is None:
            timeout = _env_number("AIM_CLOSE_TIMEOUT", CLOSE_TIMEOUT)
        deadline = time.monotonic() + timeout
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
            while (self._queue or self._inflight is not None) and self._fatal is None:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            pending = self._queued
            fatal = self._fatal
        if fatal is not None:
            raise RemoteError(
                "run %s: aim up at %s refused it (%s): what it acknowledged is stored, "
                "the rest (%d bytes) is lost" % (self.hash, self.url, fatal, pending)
            )
        if pending:
            raise RemoteError(
                "run %s: aim up at %s did not acknowledge %d bytes within %g s%s: "
                "every point it acknowledged is stored, the rest is lost; the run "
                "reads as crashed once the server's --track-timeout passes"
                % (self.hash, self.url, pending, timeout, self._why())
            )
        body = {"seq": self._acked, "status": "finished" if finished else "failed"}
        backoff = 0.1
        while True:
            try:
                self._http.json("POST", "/api/track/runs/%s/close" % self.hash, body)
                self._http.close()
                return
            except _ServerError as error:
                if not error.retryable:
                    raise RemoteError(
                        "run %s: aim up at %s refused to end it: %s"
                        % (self.hash, self.url, error)
                    ) from None
                self._last_error = str(error)
            except _NETWORK_ERRORS as error:
                self._last_error = str(error)
            if time.monotonic() + backoff > deadline:
                raise RemoteError(
                    "run %s: aim up at %s did not end it within %g s%s: every point "
                    "is stored; the run reads as crashed once the server's "
                    "--track-timeout passes" % (self.hash, self.url, timeout, self._why())
                )
            time.sleep(backoff)
            backoff = min(backoff * 2, 5.0)

    def _why(self):
        return " (last error: %s)" % self._last_error if self._last_error else ""

    def _loop(self):
        backoff = 0.1
        while True:
            with self._cond:
                if self._fatal is not None:
                    return
                if self._inflight is None:
                    while not self._queue:
                        if self._stopped:
                            self._cond.notify_all()
                            return
                        left = KEEPALIVE - (time.monotonic() - self._last_contact)
                        if left <= 0:
                            break
                        self._cond.wait(left)
                    if self._queue:
                        self._inflight = self._take()
                batch = self._inflight
            try:
                if not self._opened or batch is None:
                    self._open()  # first contact, after out_of_order, keep-alive
                if batch is not None and self._inflight is batch:
                    self._post(batch)
                self._reachable()
                backoff = 0.1
            except _ServerError as error:
                if error.code == "out_of_order":
                    self._opened = False
                    continue
                if not error.retryable:
                    self._fail(error)
                    return
                self._unreachable(error)
                time.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
            except ssl.SSLCertVerificationError as error:
                self._fail(_untrusted(self.url, error))
                return
            except _NETWORK_ERRORS as error:
                self._unreachable(error)
                time.sleep(backoff)
                backoff = min(backoff * 2, 5.0)

    def _take(self):
        parts = []
        size = 0
        queue = self._queue
        while queue and (not parts or size + len(queue[0]) <= BATCH_BYTES):
            part = queue.popleft()
            parts.append(part)
            size += len(part)
        batch = (self._next_seq, b"".join(parts))
        self._next_seq += 1
        return batch

    def _open(self):
        state = self._http.json("POST", "/api/track/runs", self._open_body)
        self._last_contact = time.monotonic()
        if state.get("status") != "running":
            raise _ServerError(409, "run_closed", "the run has ended on the server (%s)" % state.get("status"))
        with self._cond:
            self._acked = max(self._acked, state["seq"])
            batch = self._inflight
            if batch is not None and state["seq"] >= batch[0]:
                self._done(batch)
            elif batch is not None and state["seq"] < batch[0] - 1:
                raise _ServerError(
                    409, "lost",
                    "the server has batches 1 to %d but %d were acknowledged"
                    % (state["seq"], batch[0] - 1),
                )
        self._opened = True

    def _post(self, batch):
        seq, body = batch
        data, _ = self._http.request(
            "POST", "/api/track/runs/%s/batches?seq=%d" % (self.hash, seq),
            body, "application/x-ndjson",
        )
        self._last_contact = time.monotonic()
        ack = json.loads(data)
        for warning in ack.get("warnings", []):
            self._malformed += 1
            if self._malformed <= 5:
                sys.stderr.write("aim_client: warning: run %s: %s\n" % (self.hash, warning))
        with self._cond:
            self._acked = max(self._acked, ack["seq"])
            self._done(batch)

    def _done(self, batch):
        """The batch is stored: forget it (under the lock)."""
        if self._inflight is batch:
            self._inflight = None
            self._queued -= len(batch[1])
            self._cond.notify_all()

    def _fail(self, error):
        with self._cond:
            self._fatal = error
            self._cond.notify_all()
        sys.stderr.write(
            "aim_client: error: run %s: aim up at %s refused tracking: %s; "
            "later points are dropped\n" % (self.hash, self.url, error)
        )

    def _unreachable(self, error):
        self._last_error = str(error) or type(error).__name__
        if self._unreachable_since is None:
            self._unreachable_since = time.monotonic()
            sys.stderr.write(
                "aim_client: run %s: cannot reach %s (%s); retrying, nothing is lost\n"
                % (self.hash, self.url, self._last_error)
            )

    def _reachable(self):
        if self._unreachable_since is not None:
            sys.stderr.write(
                "aim_client: run %s: %s answers again after %.1f s\n"
                % (self.hash, self.url, time.monotonic() - self._unreachable_since)
            )
            self._unreachable_since = None
        self._last_error = None
        with self._cond:
            if self._waiting and self._queued < self._limit // 2:
                self._waiting = False


class Run:
    """A run: parameters, metric series, tags, log lines, and sequences of
    images, distributions and texts.

    ``experiment``, ``name``, ``description`` and ``tags`` describe it;
    ``repo`` is the repository (default: ``AIM_REPO``, then the nearest
    ``.aim`` upward), or the URL of ``aim up`` to track remotely (token in
    ``AIM_TOKEN``); ignored under ``aim run``, whose repository wins.
    As in Aim, a missing local repository is created: at ``repo`` or
    ``AIM_REPO`` when given, else as ``.aim`` in the current folder.
    ``run_hash`` (resuming) is not supported. Aim's
    ``system_tracking_interval``, ``log_system_params`` and
    ``capture_terminal_logs`` are accepted and ignored: ``aim run`` records
    those.
    """

    def __init__(
        self,
        run_hash=None,
        repo=None,
        read_only=False,
        experiment=None,
        name=None,
        description=None,
        tags=(),
        system_tracking_interval=None,
        log_system_params=None,
        capture_terminal_logs=None,
    ):
        if run_hash is not None or read_only:
            raise NotImplementedError(
                "aim_client only records new runs: run_hash and read_only are not supported"
            )
        for what, value in (
            ("experiment", experiment),
            ("name", name),
            ("description", description),
        ):
            if value is not None and type(value) is not str:
                raise TypeError(
                    "Run() %s must be a string, got %s" % (what, type(value).__name__)
                )
        tags = [tags] if isinstance(tags, str) else list(tags)
        for tag in tags:
            if type(tag) is not str or not tag:
                raise TypeError("Run() tags must be non-empty strings, got %r" % (tag,))
        self._meta = {
            "experiment": experiment or "",
            "name": name or "",
            "description": description or "",
        }
        self._tags = []
        self._params = {}
        self._lines = deque()
        self._append = self._lines.append
        self._object_bytes = 0
        self._time_at = 0.0
        self._time_part = ""
        self._flush_lock = threading.Lock()
        self._closed = False
        self._warned = False
        # A forked child inherits this object but must not write to the pipe.
        self._pid = os.getpid()
        fd = _tracking_fd()
        # Under aim run, AIM_REPO is where it writes (a path, or a URL with --remote).
        where = os.environ.get("AIM_REPO") if fd is not None or repo is None else repo
        # Whether aim shares this machine's files: a large image is handed
        # over as a file then; a remote server only takes what a line holds.
        self._files_ok = not _is_url(where)
        if fd is not None:
            self._sink = _FdSink(fd)
            self.hash = os.environ.get("AIM_RUN_HASH", "")
            meta = {k: v for k, v in self._meta.items() if v}
            if meta:
                self._lines.append('{"meta": %s}' % _dumps(meta))
            for tag in tags:
                self.add_tag(tag)
        else:
            if _is_url(where):
                self._sink = _RemoteSink(where, experiment, name, description, tags)
            else:
                self._sink = _TrackSink(repo, experiment, name, description, tags)
            self.hash = self._sink.hash
            self._tags = tags
        self._stop = threading.Event()
        # The thread holds only a weak reference, so a closed Run can be collected.
        self._thread = threading.Thread(
            target=_flush_loop,
            args=(weakref.ref(self), self._stop),
            name="aim-client",
            daemon=True,
        )
        self._thread.start()
        _open_runs.append(self)

    # --- Aim's SDK shape ---------------------------------------------------

    def track(self, value, name=None, step=None, epoch=None, *, context=None):
        """Records one point of the series (name, context).

        ``value`` is a real number (NaN and infinities allowed) or a dict of
        ``{name: value}``; ``step`` and ``epoch`` are integers (``step``
        defaults to the series' last step + 1); ``context`` is a dict.
        Raises TypeError at once for anything else.
        """
        cls = type(value)
        if cls is float:
            text = repr(value)
            if text[-1] in "fn":
                text = _NON_FINITE[text]
        elif cls is int:
            text = str(value)
        elif cls is dict:
            if name is not None:
                raise TypeError("track() takes a name or a dict of values, not both")
            for key, item in value.items():
                self.track(item, name=key, step=step, epoch=epoch, context=context)
            return
        elif cls in _OBJECT_KEYS or (
            (cls is list or cls is tuple) and value and type(value[0]) in _OBJECT_KEYS
        ):
            self._track_objects(value, name, step, epoch, context)
            return
        else:
            text = _number_text(value, name)
        quoted = _names.get(name) or _quoted_name(name)
        if step is None:
            step_part = ""
        elif type(step) is int:
            step_part = ', "step": ' + str(step)
        else:
            step_part = ', "step": ' + str(_integer(step, "step", name))
        if epoch is None:
            epoch_part = ""
        elif type(epoch) is int:
            epoch_part = ', "epoch": ' + str(epoch)
        else:
            epoch_part = ', "epoch": ' + str(_integer(epoch, "epoch", name))
        if context is None:
            context_part = ""
        else:
            try:
                context_part = _contexts[tuple(context.items())]
            except (KeyError, TypeError, AttributeError):
                context_part = _context_part(context)
        # Times are written with 10 ms resolution: repr() of a fresh time
        # would cost more than the rest of the call.
        now = _time()
        if now - self._time_at >= 0.01:
            self._time_at = now
            self._time_part = ', "time": ' + repr(now) + "}"
        lines = self._lines
        self._append(
            '{"track": '
            + text
            + ', "name": '
            + quoted
            + step_part
            + epoch_part
            + context_part
            + self._time_part
        )
        if len(lines) >= BUFFER_LINES:
            self.flush()

    def _track_objects(self, value, name, step, epoch, context):
        """One point of a sequence: an Image, Distribution or Text, or a list of one kind."""
        items = list(value) if type(value) in (list, tuple) else [value]
        kind = type(items[0])
        if any(type(item) is not kind for item in items):
            raise TypeError(
                "track() needs a list of one kind of object for %r, got %s"
                % (name, sorted({type(item).__name__ for item in items}))
            )
        key = _OBJECT_KEYS[kind]
        tail = ', "name": ' + _quoted_name(name)
        if step is not None:
            tail += ', "step": ' + str(_integer(step, "step", name))
        if epoch is not None:
            tail += ', "epoch": ' + str(_integer(epoch, "epoch", name))
        if context is not None:
            tail += _context_part(context)
        tail += ', "time": ' + repr(_time()) + "}"
        parts = [item._item(self._files_ok) for item in items]
        # A batch too long for one line is split over lines of the same step.
        head = '{"' + key + '": ['
        budget = LINE_BUDGET - len(head) - len(tail) - 2
        for part in parts:
            if len(part) > budget:
                raise ValueError(
                    "track() %s for %r is %d characters in the protocol, more than the %d a line holds"
                    % (key, name, len(part), budget)
                )
        if step is None and sum(len(part) + 2 for part in parts) > budget:
            raise ValueError(
                "track() of a batch too large for one line needs an explicit step, "
                "so that every line of it lands on the same step"
            )
        line = []
        size = 0
        for part in parts:
            if line and size + len(part) + 2 > budget:
                self._put_object(head + ", ".join(line) + "]" + tail)
                line, size = [], 0
            line.append(part)
            size += len(part) + 2
        self._put_object(head + ", ".join(line) + "]" + tail)

    def _put_object(self, line):
        self._append(line)
        self._object_bytes += len(line)
        if self._object_bytes >= BUFFER_BYTES:
            self.flush()

    def __setitem__(self, key, value):
        """``run["hparams"] = {...}``: sets a parameter (JSON-like; NaN allowed)."""
        if type(key) is not str or not key:
            raise TypeError("A parameter key must be a non-empty string, got %r" % (key,))
        try:
            text = _dumps(value)
        except (TypeError, ValueError) as error:
            raise TypeError("Cannot store parameter %r: %s" % (key, error)) from None
        self._params[key] = json.loads(text)
        self._put('{"set": %s, "value": %s}' % (_dumps(key), text))

    def __getitem__(self, key):
        """A parameter set through this object."""
        return self._params[key]

    def set(self, key, value, strict=True):
        """Aim's ``run.set(key, value)``; the same as ``run[key] = value``."""
        self[key] = value

    def add_tag(self, tag):
        if type(tag) is not str or not tag:
            raise TypeError("A tag must be a non-empty string, got %r" % (tag,))
        if tag not in self._tags:
            self._tags.append(tag)
            self._put('{"tag": %s}' % _dumps(tag))

    @property
    def tags(self):
        return list(self._tags)

    def _set_meta(self, key, value):
        if type(value) is not str:
            raise TypeError("The %s must be a string, got %s" % (key, type(value).__name__))
        self._meta[key] = value
        self._put('{"meta": {%s: %s}}' % (_dumps(key), _dumps(value)))

    name = property(lambda self: self._meta["name"], lambda self, v: self._set_meta("name", v))
    experiment = property(
        lambda self: self._meta["experiment"], lambda self, v: self._set_meta("experiment", v)
    )
    description = property(
        lambda self: self._meta["description"], lambda self, v: self._set_meta("description", v)
    )

    def log(self, text, level="info"):
        """Appends a line to the run's log, timed now: it is shown in time
        order with the program's output, although it is written later."""
        self._put(
            '{"log": %s, "level": %s, "time": %r}'
            % (_dumps(str(text)), _dumps(str(level)), _time())
        )

    def log_debug(self, text):
        self.log(text, "debug")

    def log_info(self, text):
        self.log(text, "info")

    def log_warning(self, text):
        self.log(text, "warning")

    def log_error(self, text):
        self.log(text, "error")

    def flush(self):
        """Writes the buffered lines now."""
        with self._flush_lock:
            lines = self._lines
            count = len(lines)
            if count == 0 or self._sink.broken:
                lines.clear()
                return
            if os.getpid() != self._pid:
                lines.clear()
                self._warn("a forked process cannot write to its parent's run")
                return
            # popleft() is atomic: a track() in another thread appends safely meanwhile.
            batch = [lines.popleft() for _ in range(count)]
            self._object_bytes = 0
            batch.append("")
            try:
                self._sink.write("\n".join(batch).encode("utf-8"))
            except OSError as error:
                self._sink.broken = True
                self._warn("it can no longer be written (%s)" % error)

    def _warn(self, why):
        if not self._warned:
            self._warned = True
            sys.stderr.write(
                "aim_client: warning: run %s: %s; its points are dropped\n" % (self.hash, why)
            )

    def close(self, timeout=None):
        """Finishes the run: writes what is buffered and, outside ``aim run``,
        waits until ``aim track`` has finalized it. Safe to call twice.

        A remote run waits until the server has stored everything, at most
        ``timeout`` seconds (default ``AIM_CLOSE_TIMEOUT``, else 120), then
        raises ``RemoteError`` saying what was not stored."""
        self._end(finished=True, timeout=timeout)

    def _end(self, finished, timeout=None):
        if self._closed or os.getpid() != self._pid:
            return
        if self in _open_runs:
            _open_runs.remove(self)
        if finished:
            self._lines.append('{"close": true}')
        self._closed = True
        self._append = self._refuse
        self._stop.set()
        self.flush()
        self._sink.close(finished, timeout)

    def __enter__(self):
        return self

    def __exit__(self, kind, error, traceback):
        if kind is None:
            self.close()
        else:
            # No close message: aim track records the run as failed.
            self.log("%s: %s" % (kind.__name__, error), "error")
            self._end(finished=False)
        return False

    def _put(self, line):
        self._append(line)

    def _refuse(self, line):
        raise ValueError("Run %s is closed: no more can be recorded" % self.hash)


# --- Reading runs back ------------------------------------------------------

_FLOATS = {"NaN": float("nan"), "Infinity": float("inf"), "-Infinity": float("-inf")}
#: Series per request when reading points over HTTP.
_SERIES_PAGE = 16
#: Runs per request when reading runs over HTTP.
_RUNS_PAGE = 1000


def _float(value):
    """A number from aim's JSON, where non-finite ones are strings."""
    if type(value) is str:
        return _FLOATS.get(value, value)
    return value


def _time_of(text):
    if not text:
        return None
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _flatten(params, prefix="", out=None):
    """Leaves of nested params by dotted path; lists and empty dicts are leaves."""
    out = {} if out is None else out
    for key, value in params.items():
        path = prefix + key
        if isinstance(value, dict) and value:
            _flatten(value, path + ".", out)
        else:
            out[path] = value
    return out


def _pandas():
    try:
        import pandas
    except ImportError:
        raise ImportError(
            "dataframe() needs pandas: pip install pandas (Debian: apt install python3-pandas)"
        ) from None
    return pandas


class RunRecord:
    """One run as a search found it: its attributes, parameters and series
    summaries. ``record["hparams"]`` is a parameter, as on Aim's Run.

    Attributes: ``hash``, ``name``, ``experiment``, ``description``,
    ``tags``, ``status`` (running, finished, failed, terminated, crashed),
    ``signal``, ``exit_code``, ``archived``, ``live``, ``indexed``,
    ``created_at`` and ``ended_at`` (UTC datetimes; ``ended_at`` None while
    running), ``creation_time`` and ``end_time`` (seconds since the epoch),
    ``duration`` (seconds), ``params`` (dict) and ``metrics`` (a list of
    dicts: name, context, count, first_step, last_step, last, min, max).
    """

    def __init__(self, data):
        self._data = data
        for key in ("hash", "name", "experiment", "description", "tags", "status",
                    "signal", "exit_code", "archived", "live", "indexed", "duration",
                    "data_version"):
            setattr(self, key, data.get(key))
        self.params = data.get("params") or {}
        self.created_at = _time_of(data.get("created_at"))
        self.ended_at = _time_of(data.get("ended_at"))
        self.creation_time = self.created_at.timestamp() if self.created_at else None
        self.end_time = self.ended_at.timestamp() if self.ended_at else None
        self.metrics = [
            dict(m, last=_float(m.get("last")), min=_float(m.get("min")),
                 max=_float(m.get("max")))
            for m in data.get("metrics") or []
        ]

    def __getitem__(self, key):
        return self.params[key]

    def get(self, key, default=None):
        return self.params.get(key, default)

    def __repr__(self):
        return "<RunRecord %s %r %s>" % (self.hash, self.name, self.status)

    def row(self):
        """The run as one flat dict: attributes, params by dotted path, and
        ``metrics.NAME.FIELD`` / ``metrics.NAME{CONTEXT}.FIELD`` summaries
        (as ``aim runs export`` names its CSV columns)."""
        row = {key: getattr(self, key) for key in (
            "hash", "name", "experiment", "description", "tags", "status", "signal",
            "exit_code", "live", "indexed", "archived", "created_at", "ended_at",
            "duration", "data_version")}
        metrics = {}
        for m in self.metrics:
            context = m.get("context") or {}
            base = "metrics." + m["name"] + (
                json.dumps(context, sort_keys=True, separators=(",", ":")) if context else ""
            )
            for field in ("last", "min", "max", "count", "last_step"):
                metrics["%s.%s" % (base, field)] = m.get(field)
        for path, value in _flatten(self.params).items():
            if path in row or path in metrics or path.startswith("params."):
                path = "params." + path
            row[path] = value
        row.update(metrics)
        return row


class RunCollection(list):
    """The runs a query found (a list of ``RunRecord``)."""

    def iter_runs(self):
        return iter(self)

    def dataframe(self):
        """One row per run (``RunRecord.row()``); needs pandas."""
        pandas = _pandas()
        return pandas.DataFrame([run.row() for run in self])


class Metric:
    """One series of one run: ``name``, ``context``, ``run`` (a
    ``RunRecord``), and its points as lists: ``steps``, ``values``,
    ``epochs`` (None where none was tracked), ``times`` (seconds since the
    epoch). ``total`` counts the points before downsampling;
    ``resolution`` says how they were chosen (``{"kind": "raw"}``, or
    ``"buckets"`` of a ``width`` in steps, each keeping its first, last,
    lowest and highest point)."""

    def __init__(self, run, name, context, total, resolution, steps, values, epochs, times):
        self.run = run
        self.name = name
        self.context = context
        self.total = total
        self.resolution = resolution
        self.steps = steps
        self.values = values
        self.epochs = epochs
        self.times = times

    def __len__(self):
        return len(self.steps)

    def __repr__(self):
        return "<Metric %r %s of run %s: %d points>" % (
            self.name, json.dumps(self.context), self.run.hash, len(self.steps))

    def rows(self):
        """The points as dicts, one per point, with the run and series named."""
        head = {
            "run.hash": self.run.hash,
            "run.name": self.run.name,
            "run.experiment": self.run.experiment,
            "metric.name": self.name,
            "metric.context": json.dumps(self.context, sort_keys=True, separators=(",", ":")),
        }
        for key, value in _flatten(self.context).items():
            head["metric.context." + key] = value
        for step, value, epoch, at in zip(self.steps, self.values, self.epochs, self.times):
            row = dict(head)
            row.update(step=step, value=value, epoch=epoch, time=at)
            yield row

    def dataframe(self):
        """The points of this series, one row each; needs pandas."""
        return _pandas().DataFrame(list(self.rows()))


class MetricCollection(list):
    """The series a metric query found (a list of ``Metric``)."""

    def iter(self):
        return iter(self)

    def dataframe(self):
        """One row per point of every series: run.hash, run.name,
        run.experiment, metric.name, metric.context (compact JSON) and one
        metric.context.KEY column per context key, step, value, epoch,
        time; needs pandas."""
        return _pandas().DataFrame([row for metric in self for row in metric.rows()])


class Repo:
    """A repository to read runs from: a path (read through the ``aim``
    command, ``AIM_BIN`` or ``aim`` on PATH) or the URL of ``aim up`` (read
    through its API, with the token from ``token`` or ``AIM_TOKEN``).
    Without ``path``: ``AIM_REPO``, else the nearest ``.aim`` upward.

    Queries are aim's query language, as in the web UI and ``aim runs ls``.
    """

    def __init__(self, path=None, token=None):
        if path is None:
            path = os.environ.get("AIM_REPO")
        self.path = path
        self._http = None
        if _is_url(path):
            if token is not None:
                self._http = _Http(path, token, "token")
            else:
                self._http = _Http(path, os.environ.get("AIM_TOKEN"))

    @classmethod
    def from_path(cls, path):
        """Aim's spelling of ``Repo(path)``."""
        return cls(path)

    def query_runs(self, query="", sort=None, limit=None):
        """The runs matching ``query`` (a run query; "" for all), oldest
        first or by ``sort`` (an expression; a leading - descends), at most
        ``limit``, as a ``RunCollection``."""
        if self._http is None:
            lines = self._cli(["runs", "export", "--format", "jsonl"], query, sort, limit)
            return RunCollection(RunRecord(json.loads(line)) for line in lines)
        out = RunCollection()
        offset = 0
        while limit is None or len(out) < limit:
            page = _RUNS_PAGE if limit is None else min(_RUNS_PAGE, limit - len(out))
            params = {"q": query, "limit": page, "offset": offset}
            if sort:
                params["sort"] = sort
            answer = self._read("GET", "/api/runs?" + urllib.parse.urlencode(params))
            out.extend(RunRecord(run) for run in answer["runs"])
            offset += len(answer["runs"])
            if not answer["runs"] or offset >= answer["total"]:
                break
        return out

    def query_metrics(self, query="", points=None, step_range=None, sort=None, limit=None):
        """Every series matching ``query`` (a metric query such as
        ``metric.name == "loss" and run.hparams.lr < 0.01``) with its
        points, as a ``MetricCollection``. ``points`` downsamples each
        series to that many buckets, each keeping its first, last, lowest
        and highest point (default: every point); ``step_range`` =
        (first, last) bounds the steps."""
        if points is not None and (type(points) is not int or points < 1):
            raise ValueError("points must be a positive integer or None, got %r" % (points,))
        if self._http is None:
            args = ["metrics", "export", "--format", "jsonl", "--points", str(points or 0)]
            if step_range is not None:
                args += ["--from", str(int(step_range[0])), "--to", str(int(step_range[1]))]
            out = MetricCollection()
            for line in self._cli(args, query, sort, limit):
                item = json.loads(line)
                out.append(Metric(
                    RunRecord(item["run"]), item["name"], item["context"], item["total"],
                    item["resolution"], item["steps"], [float(_float(v)) for v in item["values"]],
                    item["epochs"], item["times"],
                ))
            return out
        return self._query_metrics_http(query, points, step_range, sort, limit)

    def _query_metrics_http(self, query, points, step_range, sort, limit):
        out = MetricCollection()
        offset = 0
        while limit is None or len(out) < limit:
            page = _SERIES_PAGE if limit is None else min(_SERIES_PAGE, limit - len(out))
            body = {
                "q": query, "points": points or 0, "detail": "full",
                "encoding": "binary", "limit": page, "offset": offset,
            }
            if sort:
                body["sort"] = sort
            if step_range is not None:
                body["from"], body["to"] = int(step_range[0]), int(step_range[1])
            data, _ = self._request(
                "POST", "/api/series/search", json.dumps(body).encode("utf-8")
            )
            header, columns = _decode_series(data)
            for match in header["series"]:
                if match["data"] is None:
                    sys.stderr.write(
                        "aim_client: warning: run %s: %s\n" % (match["run"]["hash"], match["error"])
                    )
                    continue
                found = match["data"]
                n = found["n"]
                column = lambda name: columns(found["columns"].get(name), n)
                epochs = [None if e != e else int(e) for e in column("epochs")]
                steps = [int(x) for x in column("steps")]
                out.append(Metric(
                    RunRecord(match["run"]), match["series"]["name"],
                    match["series"]["context"], found.get("total", n),
                    found.get("resolution"), steps, list(column("values")), epochs,
                    list(column("times")),
                ))
            offset += len(header["series"])
            if not header["series"] or offset >= header["total"]:
                break
        return out

    def _read(self, method, path, body=None):
        data, _ = self._request(method, path, body)
        return json.loads(data)

    def _request(self, method, path, body=None):
        try:
            return self._http.request(method, path, body)
        except _ServerError as error:
            if error.code == "forbidden" and "only tracks" in str(error):
                raise PermissionError(
                    "%s (AIM_TOKEN is the track-only token: reading needs the main one)" % error
                ) from None
            raise RuntimeError(
                "aim up at %s: %s%s" % (self.path, error, _url_hint(error))
            ) from None
        except ssl.SSLCertVerificationError as error:
            raise RuntimeError(_untrusted(self.path, error)) from None
        except (OSError, http.client.HTTPException) as error:
            raise ConnectionError(
                "cannot reach aim up at %s (%s): is it running, and is this "
                "the URL it printed?" % (self.path, error)
            ) from None

    def _cli(self, args, query, sort, limit):
        command = _aim_command("aim " + " ".join(args[:2])) + args
        if self.path is not None:
            command += ["--repo", os.fspath(self.path)]
        if query:
            command += ["--query", query]
        if sort:
            command += ["--sort=" + sort]
        if limit is not None:
            command += ["--limit", str(int(limit))]
        done = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        # Exit 1 with output: some series could not be read (told on stderr).
        if done.returncode != 0 and not done.stdout:
            raise RuntimeError(
                "`aim %s` failed (exit code %d): %s"
                % (" ".join(args[:2]), done.returncode,
                   done.stderr.decode("utf-8", "replace").strip())
            )
        if done.stderr:
            sys.stderr.write(done.stderr.decode("utf-8", "replace"))
        return done.stdout.decode("utf-8").splitlines()


def _decode_series(data):
    """A binary series answer: its JSON header, and a reader of its float64 columns."""
    length = int.from_bytes(data[:4], "little")
    header = json.loads(data[4:4 + length].decode("utf-8"))
    start = (4 + length + 7) // 8 * 8
    floats = array("d")
    floats.frombytes(data[start:])
    if sys.byteorder != "little":
        floats.byteswap()

    def column(offset, n):
        if offset is None:
            return [None] * n
        at = offset // 8
        return floats[at:at + n]

    return header, column


def _flush_loop(ref, stop):
    while not stop.wait(FLUSH_INTERVAL):
        run = ref()
        if run is None:
            return
        run.flush()
        del run


@atexit.register
def _close_at_exit():
    # An uncaught exception leaves sys.last_value: such runs end without a
    # close message, which aim track records as failed.
    failed = getattr(sys, "last_value", None) is not None
    for run in list(_open_runs):
        if failed:
            run.log("uncaught %s" % type(sys.last_value).__name__, "error")
        try:
            run._end(finished=not failed)
        except RemoteError as error:
            sys.stderr.write("aim_client: error: %s\n" % error)
