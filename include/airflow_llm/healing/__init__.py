"""Self-healing of generated DAGs: incidents from failed tasks (:mod:`.incidents`, kept
light for the task listener), a deterministic diagnosis (:mod:`.classify`), and healed
versions through the generation flow's own gates (:mod:`.agent`)."""
