P=/work/main/.venv/bin/python
$P sweep.py base '{}' 
$P sweep.py dmax4 '{"d_max": 4.0, "duration": 13.0, "delay_init": [2.0, 1.0]}'
$P sweep.py dmax3 '{"d_max": 3.0, "duration": 11.0, "delay_init": [1.5, 0.75]}'
$P sweep.py hmean '{"normal": [[0.015, 0.05], [0.06, 0.1]]}'
