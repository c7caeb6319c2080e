# %% [markdown]
# # From Brian2 to BrainScaleS-2: train hardware-aware, quantise, check, export, run on NEST
#
# DelGrad (Goeltz et al., Nat. Commun. 16 (2025), arXiv 2404.19165) trained weights and **axonal delays**
# of a time-to-first-spike network with the BrainScaleS-2 chip in the loop. This notebook walks the
# same path with brian2learn:
#
# 1. train the 20-30-3 Yin-Yang network (inputs replicated x5 with shared delays) with the chip's effects in
#    the forward pass: 6-bit weights $Q(w) = \mathrm{round}(30\,\mathrm{clip}(w, \pm 63/30))/30$, threshold
#    fixed-pattern noise $\mathcal N(0.13, 0.08)$, trial-to-trial threshold noise $\mathcal N(0, 0.04)$,
#    delay jitter $0.01\,\tau$, and $\tau_m = \tau_s$ (6 us on chip);
# 2. quantise and **check the chip's constraints** (512 neuron circuits, 6-bit weights, delay elements of
#    8-33 us, at most 128 of them, axonal delays only, one hidden layer);
# 3. write the **BrainScaleS-2 PyNN script** (not run here: no chip is reachable);
# 4. export the same network through PyNN to **NEST** and compare spike times and accuracy with Brian2.
#
# A threshold $\vartheta_j = \vartheta(1+\epsilon_j)$ is applied as the equivalent scaling $1/(1+\epsilon_j)$ of
# neuron $j$'s incoming weights (the membrane potential is linear in the weights), so the exact spike-time
# gradient of `learning_rules.spike_time_gradient` needs no change.

# %%
import os, warnings
import numpy as np
import matplotlib.pyplot as plt
warnings.filterwarnings("ignore", message="IProgress not found")

SMOKE = os.environ.get("BRIAN2LEARN_SMOKE") == "1"
N_TRAIN, N_TEST, EPOCHS = (300, 150, 1) if SMOKE else (5000, 1000, 20)
print(f"SMOKE={SMOKE}: {N_TRAIN} training / {N_TEST} test samples, {EPOCHS} epoch(s)")

# %% [markdown]
# ## 1. Hardware-aware training
#
# `experiments.yinyang_bss2.build` gives the network, data, optimiser, the `HardwareAware` forward pass and
# weight bumping; `train_in_the_loop` runs every forward pass on a *substrate*, here the Brian2 simulation.

# %%
from brian2learn.experiments import yinyang_bss2
from brian2learn.hardware.in_the_loop import BrianSubstrate, train_in_the_loop, evaluate

net, train, test, opt, hw, bump = yinyang_bss2.build("W+axonal", seed=0, n_train=N_TRAIN, n_test=N_TEST)
hist = train_in_the_loop(net, BrianSubstrate(net), train, test, epochs=EPOCHS, optimizer=opt, hardware=hw,
                         input_copies=yinyang_bss2.COPIES, bumping=bump)
acc_hw, _ = evaluate(net, BrianSubstrate(net), test, hw)
print(f"test accuracy under the hardware effects: {acc_hw:.3f}")

# %% [markdown]
# ## 2. Quantise and check the chip's constraints
#
# `brainscales2.check` lists every violated constraint with its fix, before anything is exported.

# %%
from brian2learn.hardware import brainscales2 as bss2

for p in net.params:
    p["w"] = bss2.quantise_weights(p["w"])
net.params_changed()
bss2.check(net, shared_inputs=yinyang_bss2.COPIES, quantised=True)
print("fits BrainScaleS-2:", sum(net.layer_sizes), "neurons,", bss2.n_delay_elements(net, yinyang_bss2.COPIES),
      "delay elements")
fig, ax = plt.subplots(1, 2, figsize=(10, 3))
ax[0].hist(np.concatenate([np.ravel(p["w"]) * 30 for p in net.params]), bins=np.arange(-64, 65, 2))
ax[0].set(xlabel="hardware weight (6 bit, signed by projection)", ylabel="synapses")
d = net.delay_config.values(net.params[0])["axonal"][:4]
ax[1].bar(range(4), 8 + 6 * d); ax[1].set(xlabel="input (x, y, 1-x, 1-y)", ylabel="delay element (us)")
plt.tight_layout(); plt.show()

# a network the chip cannot hold: the error names each violation
from brian2learn.models import LayeredNetwork, LIF
from brian2 import ms
bad = LayeredNetwork(4, [600, 3], model=LIF(tau_s=5 * ms, tau_m=10 * ms), delays="synaptic",
                     dt=0.05 * ms, duration=20 * ms)
try:
    bss2.check(bad)
except bss2.ConstraintError as e:
    print(e)

# %% [markdown]
# ## 3. The BrainScaleS-2 script
#
# Written from the same description: calibrated current-based LIF cells, one delay element (a neuron whose
# refractory time $t_\mathrm{ref} = 8(d_\mathrm{us} - 2)$ sets its delay) per presynaptic neuron, and separate
# excitatory / inhibitory projections with weights 0..63. `ChipSubstrate` would run it through a job runner
# you supply; it is tested here only for the script and the calls it makes.

# %%
import tempfile
path = os.path.join(tempfile.mkdtemp(), "bss2_yinyang.py")
desc = bss2.write_chip_script(net, path)
print(open(path).read()[:1200])

# %% [markdown]
# ## 4. The same network on NEST
#
# `pynn_export.run_pynn` builds the network through the PyNN API (IF_curr_exp; `pyNN.nest` picks NEST's
# precise-spike-time model `iaf_psc_exp_ps`) with every delay rounded to the NEST resolution. Brian2 and NEST
# see the same quantised weights; the hardware noise is switched off for this comparison.

# %%
try:
    import pyNN.nest as sim
except ImportError:
    sim = None
    print("pyNN / nest-simulator not installed: pip install 'brian2learn[hardware]'")
if sim is not None:
    from brian2 import ms
    from brian2learn.hardware.pynn_export import run_pynn
    from brian2learn.learning_rules.losses import predict
    x, y = test
    brian = net.simulate(x)
    nest, rounding = run_pynn(net, sim, x, timestep=0.001 * ms, setup_kwargs=dict(verbosity="error"))
    fin = np.isfinite(brian[-1]) & np.isfinite(nest[-1])
    print(f"max |t_Brian2 - t_NEST| (output layer): {np.max(np.abs(brian[-1][fin] - nest[-1][fin])):.2e} tau_s")
    print(f"accuracy Brian2 {np.mean(predict(brian[-1]) == y):.3f}, NEST {np.mean(predict(nest[-1]) == y):.3f}")
    plt.figure(figsize=(4, 4)); plt.scatter(brian[-1][fin], nest[-1][fin], s=3)
    plt.xlabel("Brian2 output spike time (tau_s)"); plt.ylabel("NEST (tau_s)"); plt.show()
