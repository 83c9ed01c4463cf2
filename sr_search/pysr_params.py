"""The parameter names of ``PySRRegressor.__init__``, for checking generated arguments without pysr.

pysr needs Julia and cannot be installed everywhere, so this list is a copy, read from the public
source: ``pysr/sr.py`` of MilesCranmer/PySR, the v2 line (the signature with ``operators=``,
``expression_spec=``, ``type_spec=``, ``plugins=``, ``weight_backsolve=``, ``guesses=``; see
https://pysr.ai/v2.7.0/migration.md for the v1 -> v2 changes). Every name that
:func:`sr_search.pysr_engine.build_pysr_kwargs` emits also exists in PySR 1.5.x. When pysr *is*
importable, the tests check against ``inspect.signature(pysr.PySRRegressor.__init__)`` instead.
"""

from __future__ import annotations

PYSR_SOURCE = 'MilesCranmer/PySR pysr/sr.py, PySRRegressor.__init__ (v2 line)'

PYSR_REGRESSOR_PARAMS: frozenset[str] = frozenset(
    """
    model_selection binary_operators unary_operators operators expression_spec type_spec niterations
    populations population_size max_evals maxsize maxdepth warmup_maxsize_by timeout_in_seconds
    constraints nested_constraints elementwise_loss loss_function loss_function_expression loss_scale
    check_loss_speed complexity_of_operators complexity_of_constants complexity_of_variables
    complexity_mapping parsimony dimensional_constraint_penalty dimensionless_constants_only
    use_frequency use_frequency_in_tournament adaptive_parsimony_scaling alpha annealing
    early_stop_condition ncycles_per_iteration fraction_replaced fraction_replaced_hof
    fraction_replaced_guesses weight_add_node weight_insert_node weight_delete_node weight_do_nothing
    weight_mutate_constant weight_mutate_operator weight_mutate_feature weight_swap_operands
    weight_rotate_tree weight_randomize weight_simplify weight_optimize weight_backsolve mutations
    default_mutations crossover_probability skip_mutation_failures migration hof_migration topn
    should_simplify should_optimize_constants optimizer_algorithm optimizer_nrestarts
    optimizer_f_calls_limit optimize_probability optimizer_iterations perturbation_factor
    probability_negate_constant tournament_selection_n tournament_selection_p parallelism procs
    cluster_manager heap_size_hint_in_bytes worker_timeout worker_imports batching batch_size
    fast_cycle turbo bumper precision autodiff_backend random_state deterministic warm_start guesses
    verbosity update_verbosity print_precision progress logger_spec plugins default_plugins
    input_stream run_id output_directory temp_equation_file tempdir delete_tempfiles update
    output_jax_format output_torch_format extra_sympy_mappings extra_torch_mappings
    extra_jax_mappings denoise select_k_features
    """.split()
)
