"""Constants of the request domain."""

# What the timeline, e-mails and exports call an event with no actor: the one name for "the system".
SYSTEM_ACTOR = "Portico"
