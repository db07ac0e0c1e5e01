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

``track()`` only formats a line and appends it to a buffer (about a
microsecond); the buffer is written when it holds 1024 lines, every half
second from a daemon thread, and on ``close()`` and at exit. A process
killed by a signal loses at most the unwritten buffer.

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
import json
import math
import operator
import os
import select
import shlex
import shutil
import stat
import struct
import subprocess
import sys
import tempfile
import threading
import time
import weakref
import zlib
from collections import deque

__all__ = ["Run", "Image", "Distribution", "Text"]

#: Seconds between background writes of the buffer.
FLUSH_INTERVAL = 0.5
#: Lines buffered before ``track()`` writes them itself.
BUFFER_LINES = 1024

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


def _aim_command():
    """The command that runs aim: AIM_BIN split like a shell would, else aim on PATH."""
    configured = os.environ.get("AIM_BIN")
    if configured:
        return shlex.split(configured)
    found = shutil.which("aim")
    if found is None:
        raise FileNotFoundError(
            "Cannot start `aim track`: aim is not on PATH and AIM_BIN is not set "
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

    def close(self, finished):
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

    def close(self, finished):
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

    def _item(self):
        """The image's part of a protocol line (a file for a large one)."""
        caption = ', "caption": ' + _dumps(self.caption) if self.caption else ""
        if len(self.data) <= INLINE_IMAGE_BYTES:
            return '{"data": "' + base64.b64encode(self.data).decode("ascii") + '"' + caption + "}"
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

    def _item(self):
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

    def _item(self):
        if not self.caption:
            return _dumps(self.text)
        return '{"text": ' + _dumps(self.text) + ', "caption": ' + _dumps(self.caption) + "}"


_OBJECT_KEYS = {Image: "image", Distribution: "distribution", Text: "text"}



class Run:
    """A run: parameters, metric series, tags, log lines, and sequences of
    images, distributions and texts.

    ``experiment``, ``name``, ``description`` and ``tags`` describe it;
    ``repo`` is the repository (default: ``AIM_REPO``, then the nearest
    ``.aim`` upward), ignored under ``aim run``, whose repository wins.
    As in Aim, a missing repository is created: at ``repo`` or
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
        if fd is not None:
            self._sink = _FdSink(fd)
            self.hash = os.environ.get("AIM_RUN_HASH", "")
            meta = {k: v for k, v in self._meta.items() if v}
            if meta:
                self._lines.append('{"meta": %s}' % _dumps(meta))
            for tag in tags:
                self.add_tag(tag)
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
        parts = [item._item() for item in items]
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
        """Appends a line to the run's log."""
        self._put('{"log": %s, "level": %s}' % (_dumps(str(text)), _dumps(str(level))))

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

    def close(self):
        """Finishes the run: writes what is buffered and, outside ``aim run``,
        waits until ``aim track`` has finalized it. Safe to call twice."""
        self._end(finished=True)

    def _end(self, finished):
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
        self._sink.close(finished)

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
        run._end(finished=not failed)
