"""DVC versioning of data/: stable hashes for unchanged data, new ones for changed data."""

from __future__ import annotations

import pandas as pd

from components.core.versioning import read_dvc_hash, track_data, write_raw_table


def test_reingesting_unchanged_data_keeps_the_hash_and_changes_move_it(workspace) -> None:
    frame = pd.DataFrame({"date": pd.date_range("2020-01-01", periods=3), "y": [1.5, 2.0, 2.5]})
    path = write_raw_table(frame, workspace, "series")
    first = track_data(workspace, path)
    again = track_data(workspace, write_raw_table(frame.copy(), workspace, "series"))
    assert again == first
    assert read_dvc_hash(workspace) == first.dvc_hash
    assert (workspace / ".dvc" / "storage" / "files").is_dir()  # pushed to the default remote

    changed = frame.assign(y=[1.5, 2.0, 9.9])
    second = track_data(workspace, write_raw_table(changed, workspace, "series"))
    assert second.dvc_hash != first.dvc_hash and second.file_md5 != first.file_md5
    assert path.read_text().splitlines()[1] == "2020-01-01,1.5"


def test_unchanged_data_runs_no_dvc_command(workspace, monkeypatch) -> None:
    from components.core import versioning

    frame = pd.DataFrame({"date": pd.date_range("2020-01-01", periods=3), "y": [1.5, 2.0, 2.5]})
    first = track_data(workspace, write_raw_table(frame, workspace, "series"))
    calls = []
    real = versioning._dvc
    monkeypatch.setattr(
        versioning, "_dvc", lambda *args, **kw: calls.append(args) or real(*args, **kw)
    )
    assert track_data(workspace, write_raw_table(frame, workspace, "series")) == first
    assert calls == []
    # Another file in data/, or data.dvc moved by hand: DVC records data/ again.
    write_raw_table(frame, workspace, "other")
    second = track_data(workspace, workspace / "data" / "raw" / "series.csv")
    assert calls and second.dvc_hash != first.dvc_hash
    calls.clear()
    (workspace / "data" / "raw" / "other.csv").unlink()
    assert track_data(workspace, workspace / "data" / "raw" / "series.csv") == first
    assert calls
