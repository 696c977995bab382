"""Agent factories for the servers: call `create_agent()` or `create_agent(session_id)`.

Also loads what `myagent serve` is pointed at: a Python file or `module:attribute` holding a
`create_agent` factory or a ready `agent` (copied per session, so sessions never share a
conversation).
"""

from __future__ import annotations

import copy
import importlib
import importlib.util
import inspect
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

AgentFactoryFunc = Callable[..., Any]
"""`create_agent()` or `create_agent(session_id)`; may be async."""


def _takes_session_id(factory: Callable[..., Any]) -> bool:
    """True when the factory has a `session_id` parameter or a required positional one."""
    try:
        signature = inspect.signature(factory)
    except (TypeError, ValueError):
        return False
    for parameter in signature.parameters.values():
        if parameter.name == "session_id":
            return True
        if parameter.kind in (parameter.POSITIONAL_ONLY, parameter.POSITIONAL_OR_KEYWORD) and (
            parameter.default is parameter.empty
        ):
            return True
    return False


class AgentFactory:
    """Makes one fresh agent per session from the user's factory (plain or async)."""

    def __init__(self, factory: AgentFactoryFunc) -> None:
        if not callable(factory) and hasattr(factory, "run"):
            factory = factory_from_object(factory, "the agent")  # an agent: copied per session
        if not callable(factory):
            raise TypeError(f"create_agent must be callable, got {type(factory).__name__}")
        self.factory = factory
        self.takes_session_id = _takes_session_id(factory)

    async def create(self, session_id: str) -> Any:
        """A new agent for `session_id`."""
        agent = self.factory(session_id) if self.takes_session_id else self.factory()
        if inspect.isawaitable(agent):
            agent = await agent
        if agent is None:
            raise TypeError("create_agent returned None instead of an agent")
        return agent


def agent_name(agent: Any) -> str:
    """The agent's name for frames and traces."""
    name = getattr(agent, "name", None)
    return name if isinstance(name, str) and name else type(agent).__name__


def copy_agent(agent: Any) -> Any:
    """A per-session copy of a ready agent: shared model and tools, its own empty history."""
    clone = copy.copy(agent)
    memory = getattr(agent, "memory", None)
    if memory is not None:
        fresh = copy.copy(memory)
        messages = getattr(memory, "messages", None)
        if isinstance(messages, list):
            fresh.messages = []
        clone.memory = fresh
    extra = getattr(agent, "extra", None)
    if isinstance(extra, dict):
        clone.extra = dict(extra)
    for attribute, value in (("on_event", None), ("confirm", None), ("last_trace_id", None)):
        if hasattr(clone, attribute):
            setattr(clone, attribute, value)
    state = getattr(agent, "state", None)
    if state is not None and hasattr(type(state), "IDLE"):
        clone.state = type(state).IDLE
    return clone


def factory_from_object(target: Any, origin: str) -> AgentFactoryFunc:
    """A factory from a loaded object: a factory function, or an agent to copy per session."""
    if inspect.isclass(target) or (callable(target) and not hasattr(target, "run")):
        return target  # type: ignore[no-any-return]
    if hasattr(target, "run"):
        return lambda: copy_agent(target)
    raise TypeError(f"{origin} is neither an agent factory nor an agent")


def load_factory(target: str) -> AgentFactoryFunc:
    """Load `FILE.py`, `FILE.py:name`, `module` or `module:name` into an agent factory.

    Without a `:name`, the module's `create_agent` is used, else its `agent`.
    """
    location, _, attribute = target.partition(":")
    if location.endswith(".py") or Path(location).is_file():
        module = _load_file(Path(location))
    else:
        module = importlib.import_module(location)
    names = [attribute] if attribute else ["create_agent", "agent_factory", "agent"]
    for name in names:
        if hasattr(module, name):
            return factory_from_object(getattr(module, name), f"{target} ({name})")
    wanted = attribute or "a module-level `create_agent` function or `agent`"
    raise LookupError(f"{location} has no {wanted}")


def _load_file(path: Path) -> Any:
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    resolved = path.resolve()
    module_name = f"_myagent_serve_{resolved.stem}"
    spec = importlib.util.spec_from_file_location(module_name, resolved)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    directory = str(resolved.parent)
    if directory not in sys.path:
        sys.path.insert(0, directory)
    spec.loader.exec_module(module)
    return module
