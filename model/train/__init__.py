"""Training pix2pixHD: the conditional GAN with a multi-scale D, feature matching, optional VGG and L1.

Modules, in reading order:

    config.py       TrainConfig: the typed sections (arch, loss, schedule, data, run) a recipe sets
    settings.py     the field machinery behind it (types, help, checks, ``--set`` parsing)
    legacy.py       reading the flat configs older runs saved
    distributed.py  joining a torchrun process group
    sampler.py      the data order and per-step random source (what makes resuming exact)
    stack.py        GeneratorStack: G and E as one module (what DDP wraps)
    weights.py      starting G from other runs (init_weights, init_global)
    run_state.py    what a run writes and reads back: checkpoint, training state, resume
    trainer.py      Trainer: builds everything from a TrainConfig, then one step after another

Everything a run writes lives in ``runs/NAME/``:

    checkpoint/        the native model (model.checkpoint.save_checkpoint) + training.json
    saves/step_N/      with run.keep_saves, a copy of checkpoint/ at every save (to score them later)
    state.safetensors  D weights, both optimisers' states and G/E weights: what resuming reads
    state.json         the step count and the TrainConfig of the run
    loss_log.csv       one row per logged step
    samples/           label | generated | real grids

Nothing here is imported by this package's ``__init__``, so a command that needs one small part
(e.g. ``run_state.TRAINING_JSON``) does not load the trainer.
"""
