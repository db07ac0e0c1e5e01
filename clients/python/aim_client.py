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
"""

import atexit
import json
import operator
import os
import select
import shlex
import shutil
import stat
import subprocess
import sys
import threading
import time
import weakref
from collections import deque

__all__ = ["Run"]

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


class Run:
    """A run: parameters, metric series, tags and log lines.

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
