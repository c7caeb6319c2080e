# Probe (2026-12-06): depth-4 SRC, 12,000 MNIST images / 2,000 test, 3 epochs, membrane readout, with the
# paper's recurrent-gradient stop but the true ReLU derivative (relu_bypass off). Usage: GAIN BYPASS(0|1).
import sys, numpy as np
from brian2learn.experiments import src as E
from brian2learn.learning_rules.bptt import BPTT
gain, bypass = float(sys.argv[1]), sys.argv[2] == "1"
tr, cfg = E.build("mnist", seed=0, data_dir="/work/shared/datasets", n_train=12000, n_test=2000, depth=4, steps=100,
                  readout="membrane", hidden_gain=gain, lr=3e-3)
tr.rule = BPTT(tr.net, gradient="paper", stop_recurrent=True, relu_bypass=bypass)
for e in range(3):
    h = tr.train_epoch(); r = tr.evaluate()
    print(e + 1, h if not isinstance(h, dict) else {k: h[k] for k in h if k != "seconds"}, r, flush=True)
