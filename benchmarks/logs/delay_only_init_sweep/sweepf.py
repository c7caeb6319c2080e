import sys, json, time
from brian2learn.experiments.delay_only import build
ds = "fashion"; name = sys.argv[1]; ov = json.loads(sys.argv[2]); epochs = int(sys.argv[3]) if len(sys.argv) > 3 else 3
for k in ("delay_init", "normal"):
    if k in ov: ov[k] = tuple(tuple(x) if isinstance(x, list) else x for x in ov[k])
tr, cfg = build(ds, "delays", "normal", seed=0, data_dir="/work/shared/datasets", n_train=10000, n_test=2000,
                progress=False, in_simulation=True, directory=f"/tmp/sweep/proj_{name}", **ov)
for e in range(epochs):
    row = tr.train_epoch(); acc, _, _ = tr.evaluate()
    print(f"{name} epoch {e+1}: train {row['train_acc']:.4f} test {acc:.4f} ({row['epoch_seconds']:.0f} s)", flush=True)
