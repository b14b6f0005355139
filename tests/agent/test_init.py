"""toolwire.agent: the public names."""

import toolwire.agent as agent


def test_all_lists_exactly_the_public_names() -> None:
    public = {name for name in vars(agent) if not name.startswith("_")} - {"backends", "loop", "mcp_tools", "registry"}
    assert sorted(agent.__all__) == sorted(public)
    assert all(getattr(agent, name).__module__.startswith("toolwire.agent.") for name in agent.__all__)
