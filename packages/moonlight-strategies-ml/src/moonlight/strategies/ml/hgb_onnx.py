"""Export a fitted HistGradientBoostingClassifier (binary) to ONNX in double precision.

skl2onnx's converter stores split thresholds as float32 (a float64 feature just above or
below a threshold can take the other branch) and breaks on some scikit-learn releases,
so this module writes the graph directly: one ``ai.onnx.ml`` TreeEnsembleRegressor
(opset 3, thresholds and leaf values as double tensors) summing every tree's leaf plus
the baseline, then a Sigmoid. A row goes left when ``x <= threshold`` -- scikit-learn's
rule for numeric splits; NaN follows the tree's ``missing_go_to_left``. The output
``probability`` is P(class 1) as an (n × 1) tensor.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def hgb_to_onnx(model: Any, width: int) -> bytes:
    """The ONNX bytes of ``model`` (a fitted binary HistGradientBoostingClassifier)."""
    from onnx import TensorProto, helper

    if len(model.classes_) != 2 or any(len(trees) != 1 for trees in model._predictors):
        raise ValueError("only binary HistGradientBoostingClassifier models are exported")
    attributes: dict[str, Any] = {
        key: []
        for key in (
            "nodes_treeids", "nodes_nodeids", "nodes_featureids", "nodes_modes",
            "nodes_values", "nodes_truenodeids", "nodes_falsenodeids",
            "nodes_missing_value_tracks_true", "target_treeids", "target_nodeids",
            "target_ids", "target_weights",
        )
    }  # fmt: skip
    for tree_id, (tree,) in enumerate(model._predictors):
        if np.any(tree.nodes["is_categorical"]):
            raise ValueError("categorical splits are not exported")
        for node_id, node in enumerate(tree.nodes):
            leaf = bool(node["is_leaf"])
            attributes["nodes_treeids"].append(tree_id)
            attributes["nodes_nodeids"].append(node_id)
            attributes["nodes_featureids"].append(0 if leaf else int(node["feature_idx"]))
            attributes["nodes_modes"].append("LEAF" if leaf else "BRANCH_LEQ")
            attributes["nodes_values"].append(0.0 if leaf else float(node["num_threshold"]))
            attributes["nodes_truenodeids"].append(0 if leaf else int(node["left"]))
            attributes["nodes_falsenodeids"].append(0 if leaf else int(node["right"]))
            attributes["nodes_missing_value_tracks_true"].append(
                int(not leaf and bool(node["missing_go_to_left"]))
            )
            if leaf:
                attributes["target_treeids"].append(tree_id)
                attributes["target_nodeids"].append(node_id)
                attributes["target_ids"].append(0)
                attributes["target_weights"].append(float(node["value"]))
    as_double = ("nodes_values", "target_weights")
    doubles = {
        f"{key}_as_tensor": helper.make_tensor(key, TensorProto.DOUBLE, [len(values)], values)
        for key in as_double
        for values in [attributes.pop(key)]
    }
    baseline = float(np.ravel(model._baseline_prediction)[0])
    trees = helper.make_node(
        "TreeEnsembleRegressor",
        ["X"],
        ["raw"],
        domain="ai.onnx.ml",
        n_targets=1,
        aggregate_function="SUM",
        post_transform="NONE",
        base_values_as_tensor=helper.make_tensor("base", TensorProto.DOUBLE, [1], [baseline]),
        **attributes,
        **doubles,
    )
    cast = helper.make_node("Cast", ["raw"], ["raw64"], to=TensorProto.DOUBLE)
    sigmoid = helper.make_node("Sigmoid", ["raw64"], ["probability"])
    graph = helper.make_graph(
        [trees, cast, sigmoid],
        "moonlight_hgb",
        [helper.make_tensor_value_info("X", TensorProto.DOUBLE, [None, width])],
        [helper.make_tensor_value_info("probability", TensorProto.DOUBLE, [None, 1])],
    )
    onnx_model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("ai.onnx.ml", 3)],
    )
    onnx_model.ir_version = 8
    return bytes(onnx_model.SerializeToString())
