"""The `flightlog collect` agent: tail files or stdin, process, buffer on disk, ship.

What Promtail, Fluent Bit or Filebeat do in other stacks: follow files by glob (new
files, rotation by rename and by copytruncate, rotated ``.gz`` once), join multiline
entries, run the ``flightlog.pipeline`` stages, and push to the server with batching,
gzip and retries, through a bounded on-disk buffer that survives restarts and outages.
Read positions persist by file identity, so a restart resumes with no loss and no
duplication, also when files were rotated or compressed while the agent was down.

Public names: ``Agent``, ``CollectConfig``, ``FileInput``, ``MultilineConfig``,
``ShipperConfig``, ``load_collect_config``.
"""

from flightlog.collect.agent import Agent
from flightlog.collect.config import CollectConfig, FileInput, load_collect_config
from flightlog.collect.multiline import MultilineConfig
from flightlog.collect.shipper import ShipperConfig

__all__ = [
    "Agent",
    "CollectConfig",
    "FileInput",
    "MultilineConfig",
    "ShipperConfig",
    "load_collect_config",
]
