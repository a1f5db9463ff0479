"""Samples the assignment service with py-spy while wrk loads it, and sums where the time goes.

py-spy is not a project dependency: ``.venv/bin/pip install py-spy`` (``--profile`` says so when
it is missing). The raw collapsed stacks are kept next to the results, for a flame graph
(speedscope.app or flamegraph.pl read them as they are).
"""

import shutil
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# (label, substring of a frame): a sample counts toward a label when any frame of its stack
# matches. Labels overlap (the handler's time includes its database calls), so shares do not
# add up to 100%.
INCLUSIVE_GROUPS = [
    ("uvicorn HTTP protocol (httptools parsing, transport)", "uvicorn/protocols/http"),
    ("starlette + FastAPI app (routing, middleware, exceptions)", "starlette/"),
    ("FastAPI request handling (dependencies, body, response)", "fastapi/routing.py"),
    ("auth dependency (API key cache)", "shared/auth.py"),
    ("request validation (pydantic LeadIn)", "request_body_to_args"),
    ("response serialisation (pydantic AssignmentRead -> JSON)", "serialize_response"),
    ("assign_lead service (all of it, DB calls included)", "leads/service.py"),
    ("asyncpg driver (encode/decode, protocol)", "asyncpg/"),
    ("jsonb codec json.dumps/loads", "json/"),
    ("access log line (logging + JSON formatter)", "logging/"),
    ("request-id middleware", "shared/request_context.py"),
    ("asyncpg pool reset on release (Connection.reset: an extra round trip)", "Connection.reset"),
]
# What the innermost (native) frame is doing: (label, prefixes of the leaf frame).
CODE = "Python and C code on CPU (or waiting for a core)"
LEAF_GROUPS = [
    (
        "write() to a socket (to Postgres or nginx; wakes the receiver)",
        ("write (", "send (", "sendto (", "__send"),
    ),
    ("read() from a socket", ("read (", "recv (", "recvfrom (")),
    ("epoll wait (idle loop)", ("epoll",)),
    ("garbage collector", ("gc_collect",)),
]


@dataclass
class ProfileSummary:
    seconds: float
    rate: int
    samples: int
    inclusive: dict[str, float] = field(default_factory=dict)
    # The same groups among the samples whose innermost frame is code, not a syscall or wait:
    # where the service's own CPU goes.
    inclusive_of_code: dict[str, float] = field(default_factory=dict)
    code_samples: int = 0
    leaf: dict[str, float] = field(default_factory=dict)
    writes_by_caller: list[tuple[str, float]] = field(default_factory=list)
    top_self: list[tuple[str, float]] = field(default_factory=list)
    raw_path: str = ""

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def py_spy_binary() -> str | None:
    candidate = Path(sys.executable).with_name("py-spy")
    if candidate.exists():
        return str(candidate)
    return shutil.which("py-spy")


def start_recording(
    pid: int, *, seconds: float, rate: int, raw_path: Path
) -> subprocess.Popen[str]:
    binary = py_spy_binary()
    if binary is None:
        raise RuntimeError("py-spy is not installed: .venv/bin/pip install py-spy")
    raw_path.parent.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        [
            binary,
            "record",
            "--pid",
            str(pid),
            "--subprocesses",
            "--duration",
            str(max(1, round(seconds))),
            "--rate",
            str(rate),
            "--native",
            "--format",
            "raw",
            "--output",
            str(raw_path),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def summarise(raw_path: Path, *, seconds: float, rate: int) -> ProfileSummary:
    """Shares of the samples py-spy took while the process was running or runnable.

    py-spy drops samples of a sleeping (idle) thread but keeps those of a thread waiting for a
    core. A process that writes to a socket wakes the reader, which on a busy machine often
    takes the core from it right there: such samples land in write(). So the shares say where
    the process spends its turns, not how much CPU it burns (cpu.py measures that)."""
    inclusive: Counter[str] = Counter()
    inclusive_code: Counter[str] = Counter()
    leaf: Counter[str] = Counter()
    leaf_groups: Counter[str] = Counter()
    writes: Counter[str] = Counter()
    total = 0
    for line in raw_path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = stack.split(";")
        leaf[frames[-1]] += count
        group = next(
            (label for label, prefixes in LEAF_GROUPS if frames[-1].startswith(prefixes)),
            CODE,
        )
        leaf_groups[group] += count
        for label, needle in INCLUSIVE_GROUPS:
            if any(needle in frame for frame in frames):
                inclusive[label] += count
                if group == CODE:
                    inclusive_code[label] += count
        if group == LEAF_GROUPS[0][0]:
            python_frames = [frame for frame in frames if ".py:" in frame]
            writes[python_frames[-1] if python_frames else frames[-1]] += count
    return ProfileSummary(
        seconds=seconds,
        rate=rate,
        samples=total,
        inclusive={label: inclusive[label] / total for label, _ in INCLUSIVE_GROUPS}
        if total
        else {},
        inclusive_of_code={
            label: inclusive_code[label] / leaf_groups[CODE] for label, _ in INCLUSIVE_GROUPS
        }
        if leaf_groups[CODE]
        else {},
        code_samples=leaf_groups[CODE],
        leaf={label: count / total for label, count in leaf_groups.most_common()} if total else {},
        writes_by_caller=[(frame, count / total) for frame, count in writes.most_common(5)]
        if total
        else [],
        top_self=[(frame, count / total) for frame, count in leaf.most_common(15)] if total else [],
        raw_path=str(raw_path),
    )
