"""A separate process that writes to a choice log, for the crash and concurrency tests.

Run as ``python tests/log/worker.py MODE DB ...`` with the repository root as the working
directory (it puts the root on ``sys.path``, like pytest's ``pythonpath``):

* ``play DB ID N`` -- one live playthrough of N events through the durable recorder; prints
  ``ok SEQ`` once each event's ``record()`` has returned (the point where a player would show
  the next passage).
* ``many DB TAG COUNT`` -- COUNT live playthroughs of 7 events each; prints ``done EVENTS``.
* ``open DB [AT]`` -- open (creating and migrating) and print the schema version; with AT
  (Unix time), wait until then first, so that several workers open at the same moment.
* ``cli-kill WHERE N ARGS...`` -- run ``branching ARGS...`` in this process and SIGKILL it at
  the N-th call (1-based) of WHERE: ``save`` kills as the player starts writing its save (the
  step before is already durable in the log), ``record`` right after the N-th event is durable
  (before the player records the next one or saves).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path


def main(argv: list[str]) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from branching.log import ChoiceLog
    from branching.play.events import (
        ChoiceMade,
        EndingReached,
        Event,
        NodeEntered,
        PlaythroughInfo,
        Quit,
        Rewound,
    )

    if argv[0] == "cli-kill":
        _run_cli_and_kill(argv[1], int(argv[2]), argv[3:])
        return
    mode, db = argv[0], argv[1]
    if mode == "open":
        if len(argv) > 2:
            time.sleep(max(0.0, float(argv[2]) - time.time()))
        with ChoiceLog.open(db) as log:
            print(log.schema_version, flush=True)
        return
    if mode == "play":
        pid, n = argv[2], int(argv[3])
        with ChoiceLog.open(db) as log:
            recorder = log.start_playthrough(PlaythroughInfo(pid, "crash", "1", "h", "viewer-k"))
            print("started", flush=True)
            for seq in range(n):
                event: Event = (
                    NodeEntered(f"n{seq}")
                    if seq % 2 == 0
                    else ChoiceMade(f"n{seq - 1}", "go", f"n{seq + 1}", seq)
                )
                recorder.record(event)
                print(f"ok {seq}", flush=True)
        return
    if mode == "many":
        tag, count = argv[2], int(argv[3])
        written = 0
        with ChoiceLog.open(db) as log:
            for i in range(count):
                info = PlaythroughInfo(f"{tag}-{i:04d}", "race", "1", "h", f"viewer-{tag}")
                recorder = log.start_playthrough(info)
                events: list[Event] = [
                    NodeEntered("a"),
                    ChoiceMade("a", "b", "b", 100 + i),
                    NodeEntered("b"),
                    Rewound("b", "a", 0),
                    ChoiceMade("a", "c", "c", 200, timed_out=True),
                    NodeEntered("c"),
                    EndingReached("c", "End", "good") if i % 2 else Quit("c"),
                ]
                for event in events:
                    recorder.record(event)
                written += len(events)
                recorder.close()
        print(f"done {written}", flush=True)
        return
    raise SystemExit(f"unknown mode {mode}")


def _run_cli_and_kill(where: str, n: int, args: list[str]) -> None:
    import os
    import signal

    from branching.cli import main as cli
    from branching.log.recorder import PlayerRecorder
    from branching.play.saves import SaveStore

    calls = 0

    def counted() -> None:
        nonlocal calls
        calls += 1
        if calls == n:
            sys.stdout.flush()
            os.kill(os.getpid(), signal.SIGKILL)

    if where == "save":
        real_save = SaveStore.save

        def save(self: SaveStore, *a: object, **kw: object) -> None:
            counted()
            real_save(self, *a, **kw)  # type: ignore[arg-type]

        SaveStore.save = save  # type: ignore[method-assign]
    elif where == "record":
        real_record = PlayerRecorder.record

        def record(self: PlayerRecorder, event: object) -> None:
            real_record(self, event)  # type: ignore[arg-type]
            counted()

        PlayerRecorder.record = record  # type: ignore[method-assign]
    else:
        raise SystemExit(f"unknown place {where}")
    cli(args, prog_name="branching")


if __name__ == "__main__":
    main(sys.argv[1:])
