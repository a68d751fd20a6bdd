"""sandbox/README.md's Python snippets run, as printed, against a live sandbox."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).parents[2] / "sandbox" / "README.md"
PRINTED_URL = "http://127.0.0.1:12111"


def python_snippets() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)


def test_readme_python_snippets_run_in_order_against_a_live_sandbox(sandbox, capsys):
    snippets = python_snippets()
    assert len(snippets) >= 4
    namespace: dict[str, object] = {}
    for snippet in snippets:
        # The only change: the port this test's sandbox happens to listen on.
        exec(compile(snippet.replace(PRINTED_URL, sandbox.url), str(README), "exec"), namespace)

    assert capsys.readouterr().out.startswith("400 amount ")  # the over-transfer is refused
    transfer, refund = namespace["transfer"], namespace["refund"]
    assert (transfer.amount, refund.amount) == (4000, 2500)
    assert callable(namespace["handle_stripe_webhook"])


def test_readme_documents_every_stripe_control(sandbox):
    text = README.read_text()
    routes = sandbox.state.stripe.controls_router().routes
    for route in routes:
        template = re.sub(r"\{[^}]+\}", "{", route.path)
        documented = re.sub(r"\{[^}]+\}", "{", text)
        assert f"/_sandbox{template}" in documented, route.path
