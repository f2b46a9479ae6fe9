"""Worker start-up: the agents of ``worker.agents``, resolved through ``logwarden.agents``.

An entry point of that group names either a module (logwarden's own agents: importing
it registers its ``@app.agent`` on the app) or an ``AgentPlugin``, whose ``register``
gets a ``PluginContext`` and its validated ``plugins.<name>`` section. A plugin that
fails to load is logged with its distribution and error and left out, unless
``plugins.strict`` is set: then the worker refuses to start.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from types import ModuleType
from typing import Any

from pydantic import ValidationError

from app.plugins import PluginError, PluginLoadFailed, PluginRegistry, registry
from app.plugins.context import PluginContext
from app.plugins.contracts import AgentPlugin, PluginConfig
from app.settings import Settings

log = logging.getLogger(__name__)


def plugin_config(settings: Settings, plugin: AgentPlugin) -> PluginConfig:
    """``plugins.<name>`` validated by the plugin's model; errors name the field."""
    section = settings.plugins.sections().get(plugin.name, {})
    try:
        return plugin.config.model_validate(section)
    except ValidationError as exc:
        problems = "; ".join(
            f"plugins.{plugin.name}.{'.'.join(map(str, err['loc']))}: {err['msg']}"
            for err in exc.errors())
        raise PluginError(f"invalid settings of plugin {plugin.name!r}: {problems}") from None


def check_sections(settings: Settings, reg: PluginRegistry) -> None:
    """A ``plugins.<name>`` section must name a registered agent (typos are not ignored)."""
    known = reg.names("agents")
    stray = sorted(set(settings.plugins.sections()) - set(known))
    if stray:
        raise PluginError(f"settings section(s) {', '.join('plugins.' + s for s in stray)} "
                          f"name no registered agent (known: {', '.join(known)})")


def install_agents(app: Any, settings: Settings, host_topics: Mapping[str, Any], *,
                   reg: PluginRegistry | None = None) -> dict[str, Any]:
    """Register the agents of ``worker.agents`` on ``app``; return name -> what loaded
    (the module, or the ``PluginContext`` a plugin registered through)."""
    reg = reg if reg is not None else registry()
    strict = settings.plugins.strict
    check_sections(settings, reg)
    installed: dict[str, Any] = {}
    for name in settings.worker.agents:
        ext = reg.get("agents", name)
        if ext is None:
            raise PluginError(f"worker.agents: no agent named {name!r} is registered (known: "
                              f"{', '.join(reg.names('agents'))}); declare it under "
                              f'[project.entry-points."logwarden.agents"]')
        try:
            obj = ext.load()
        except PluginLoadFailed as exc:
            if strict:
                raise PluginLoadFailed(f"plugins.strict is set and an agent of worker.agents "
                                       f"failed to load: {exc}") from exc
            continue  # logged by load(); reported by check() and `logwarden plugins list`
        if isinstance(obj, ModuleType):
            installed[name] = obj
        elif isinstance(obj, AgentPlugin):
            if obj.name != name:
                raise PluginError(f"{ext.group} entry point {name!r} of {ext.origin} names "
                                  f"the plugin {obj.name!r}: the two must be equal")
            ctx = PluginContext(app=app, plugin=obj, config=plugin_config(settings, obj),
                                host_topics=host_topics, partitions=settings.kafka.partitions,
                                host_settings=settings)
            obj.register(ctx)
            log.info("plugin agent %s %s (%s) registered: agents %s, tables %s", obj.name,
                     obj.version, ext.origin, ", ".join(ctx.agents), ", ".join(ctx.tables))
            installed[name] = ctx
        else:
            raise PluginError(f"{ext.group} entry point {name!r} of {ext.origin} "
                              f"({ext.target}) names a {type(obj).__name__}, expected an "
                              f"app.plugins.contracts.AgentPlugin")
    # parsers and enrichers were loaded when the settings were validated; load the rest
    # so that a broken plugin of any kind is reported now, not on first use
    for kind in ("parsers", "enrichers", "rule_types", "notifiers", "sinks"):
        reg.load_all(kind)
    reg.check(strict=strict)
    return installed
