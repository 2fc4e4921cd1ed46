"""The change-event stream: an append-only log plus the registry's alias history."""

from tools.events.log import EventLog, events_path
from tools.events.stream import events_between

__all__ = ["EventLog", "events_between", "events_path"]
