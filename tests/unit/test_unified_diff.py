"""Reading git's unified diffs: files, hunks, line numbers, counts and changed words."""

from __future__ import annotations

from caged_tui import unified_diff

DIFF = """\
diff --git a/src/app.py b/src/app.py
index 1111111..2222222 100644
--- a/src/app.py
+++ b/src/app.py
@@ -1,3 +1,4 @@
 def main():
-    return 1
+    return 42
+    # done
 end
@@ -10 +11 @@ x
-old
\\ No newline at end of file
+new
diff --git a/logo.png b/logo.png
Binary files a/logo.png and b/logo.png differ
"""


def test_files_hunks_numbers_and_counts() -> None:
    app, logo = unified_diff.parse(DIFF)
    assert (app.path, app.added, app.removed, len(app.hunks)) == ("src/app.py", 3, 2, 2)
    first = app.hunks[0].lines
    assert [(line.kind, line.old, line.new) for line in first] == [
        (" ", 1, 1),
        ("-", 2, None),
        ("+", None, 2),
        ("+", None, 3),
        (" ", 3, 4),
    ]
    assert app.hunks[1].lines[0].old == 10 and app.hunks[1].lines[1].new == 11
    assert logo.binary and not logo.hunks


def test_changed_words_of_paired_lines() -> None:
    app = unified_diff.parse(DIFF)[0]
    removed, added = app.hunks[0].lines[1], app.hunks[0].lines[2]
    assert [removed.text[a:b] for a, b in removed.changed] == ["1"]
    assert [added.text[a:b] for a, b in added.changed] == ["42"]
    assert app.hunks[0].lines[3].changed == []  # unpaired: the whole line is new


def test_runs_pair_removed_with_added() -> None:
    lines = unified_diff.parse(DIFF)[0].hunks[0].lines
    shapes = [(len(a), len(b)) for a, b in unified_diff.runs(lines)]
    assert shapes == [(1, 1), (1, 2), (1, 1)]


def test_control_characters_are_escaped_not_painted() -> None:
    hostile = (
        "diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1 +1 @@\n-old\n"
        "+\x1b]52;c;cHduZWQ=\x07 and \u202e text\n"
    )
    added = unified_diff.parse(hostile)[0].hunks[0].lines[1]
    assert added.text == "\\x1b]52;c;cHduZWQ=\\x07 and \\u202e text"
    assert added.text.isprintable()
