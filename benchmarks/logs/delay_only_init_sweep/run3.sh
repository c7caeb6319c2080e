while kill -0 17870 2>/dev/null; do sleep 10; done
P=/work/main/.venv/bin/python
$P sweepf.py f_h008 '{}' 2
$P sweepf.py f_h015 '{"normal": [[0.015, 0.05], [0.06, 0.1]]}' 2
$P sweepf.py f_h004 '{"normal": [[0.004, 0.05], [0.06, 0.1]]}' 2
