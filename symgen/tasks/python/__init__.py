"""The Python task: functions checked by running their asserts in the bubblewrap sandbox."""
