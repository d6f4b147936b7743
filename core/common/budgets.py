"""Time budgets and gaps of the interactive planner (the Plan page's re-plans and refinements).

They live in core so that the page (``ui.plan``) and its benchmark (``benchmarks/plan_steps.py``)
read the same numbers; here in ``core.common`` because importing them must not load the planner
(``core.planning`` loads scipy.optimize with the Plan page, not with ``ui``).
"""

#: Seconds a re-plan may take (the page redraws within about a second of a slider change).
#: Measured on the demo (benchmarks/plan.py --replan ... --time-limit): 0.35 s gives re-plans of
#: median 0.46 s at a median gap of 0.12 %, 0.6 s gives 0.63 s at 0.06 %. Kept after the
#: re-plan's early stops: at 0.25 and 0.2 s fewer re-plans found a plan in time under load
#: (README, fifth pass).
REPLAN_SECONDS = 0.35
#: Seconds the first plan may take.
FIRST_SECONDS = 30.0
#: A background refinement that ends above this gap searches again for up to
#: REFINE_MORE_SECONDS (without a plan: FIRST_SECONDS) before its plan replaces the quick answer.
#: Measured (benchmarks/plan.py --replan ... --quick): those second searches took at most 0.6 s
#: on the demo; a longer budget lets the repair build programs that HiGHS cannot stop, on a
#: core the user's next answer needs, after a newer change cancelled it.
REFINE_GAP = 0.01
REFINE_MORE_SECONDS = 2.0
#: A quick answer proved within this gap of its bound is final: no background re-plan. It is
#: the planner's own ``target_gap`` (core.planning.lagrangian), below which a re-plan from it
#: keeps it at once (measured on the demo's call-centre budget steps above what the plan
#: spends: 0.046 %, the re-plan took 75-160 ms and returned the same plan and bound, and its
#: pushed rerun redrew the page a second time).
FINAL_GAP = 1e-3
