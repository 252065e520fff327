"""Facts about Dataflow workers: the GPU catalog, accelerator syntax and checks, engine vs GPU, GPU memory, the image's runtimes, the worker boot path, list prices."""
