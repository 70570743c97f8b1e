"""Framework integrations, each an optional extra imported only when used.

* ``flightlog.sdk.integrations.torch_loop`` -- ``TorchStepLogger`` for plain PyTorch loops
  (extra ``flightlog[torch]``).
* ``flightlog.sdk.integrations.hf`` -- ``FlightlogCallback``, a Hugging Face
  ``transformers.TrainerCallback`` (extra ``flightlog[hf]``).
* ``flightlog.sdk.integrations.lightning`` -- ``FlightlogLightningLogger``, a PyTorch
  Lightning logger (extra ``flightlog[lightning]``).
* ``flightlog.sdk.integrations.keras`` -- ``FlightlogKerasCallback`` (extra ``flightlog[keras]``).

Each writes through a ``flightlog.Run``: the same files, summary and shipping as a hand
instrumented loop. Importing this package imports no framework.
"""
