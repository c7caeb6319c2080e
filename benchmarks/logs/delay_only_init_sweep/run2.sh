while kill -0 14129 2>/dev/null; do sleep 10; done
P=/work/main/.venv/bin/python
$P sweep.py hmean25 '{"normal": [[0.025, 0.05], [0.06, 0.1]]}'
$P sweep.py hmean15s8 '{"normal": [[0.015, 0.08], [0.06, 0.1]]}'
