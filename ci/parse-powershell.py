"""Parses PowerShell scripts with the tree-sitter PowerShell grammar (PyPI
`tree-sitter` and `tree-sitter-powershell`, compiled wheels) and prints one
line per syntax error; exit 1 when there is any. No PowerShell runs on
Debian, so this is the parser the tests have; the Windows job runs the
scripts for real. tests/workflows.rs runs it with the validators' venv:
    python3 ci/parse-powershell.py ci/*.ps1
"""

import sys

import tree_sitter
import tree_sitter_powershell


def errors(node, name, out):
    if node.is_error or node.is_missing:
        row, col = node.start_point
        what = f"missing {node.type}" if node.is_missing else "syntax error"
        first = node.text.decode("utf-8", "replace").split("\n")[0][:60]
        out.append(f"{name}:{row + 1}:{col + 1}: {what} at `{first}`")
        return
    if node.has_error:
        for child in node.children:
            errors(child, name, out)


def main(files):
    if not files:
        print("usage: python3 ci/parse-powershell.py SCRIPT...", file=sys.stderr)
        return 2
    parser = tree_sitter.Parser(tree_sitter.Language(tree_sitter_powershell.language()))
    out = []
    for name in files:
        with open(name, "rb") as f:
            errors(parser.parse(f.read()).root_node, name, out)
    for line in out:
        print(line)
    return 1 if out else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
