import sys, time
from brian2learn.experiments.perturbation_sciml import train
from brian2learn.experiments.perturbation_qif import train_qif
from brian2learn.models import network as N, theta_network as TN
from brian2learn.models.running import run_network
plain = lambda net, d, namespace=None: net.run(d, namespace={})
for name, f in (("freeze", run_network), ("plain", plain), ("freeze", run_network)):
    N.run_network = f; TN.run_network = f
    r = train("regression_x2", gradient="perturbation", steps=150, lr=0.02, K=8, eps=0.01, hidden=30, seed=0, log_every=1000)
    q = train_qif("regression_x2", steps=60, lr=0.05, K=4, eps=0.01, hidden=16, seed=0, log_every=1000)
    print(name, "lif x2 150 steps", round(r["seconds"], 2), "s; qif x2 60 steps", round(q["seconds"], 2), "s", flush=True)
