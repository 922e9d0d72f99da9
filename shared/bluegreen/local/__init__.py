"""The local world: AWS played by moto in this process, for the demo, ``bluegreen emulator`` and tests.

- :mod:`bluegreen.local.seed` — seed a realistic two-stack application into any endpoint (plain boto3).
- :mod:`bluegreen.local.emulator` — :class:`~bluegreen.local.emulator.Emulator`, moto's server on
  127.0.0.1 reached through ``AWS_ENDPOINT_URL``, and :func:`~bluegreen.local.emulator.serve`.
- :mod:`bluegreen.local.shim` — the few operations moto lacks or gets wrong, patched into moto; its
  parts by service: :mod:`~bluegreen.local.codedeploy_model` (the deployments it answers for),
  :mod:`~bluegreen.local.codedeploy_api` (CodeDeploy's answers), :mod:`~bluegreen.local.lambda_patches`
  (event source mappings, async invokes), :mod:`~bluegreen.local.busy`,
  :mod:`~bluegreen.local.propagation`; :mod:`~bluegreen.local.patching` (a patch as data).

The demo that runs in it is :mod:`bluegreen.cli.demo`. Importing this package imports nothing else:
only ``emulator``, ``shim`` and its parts need moto (the ``local`` extra), and the Lambda functions
never import any of it.
"""
