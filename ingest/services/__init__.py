"""Services of the ingest app: functions that write, named ``<entity>_<action>``."""
