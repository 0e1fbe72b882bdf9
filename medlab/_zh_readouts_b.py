"""中文 for the prose sentences of the widgets' readouts (group b); merged into :data:`medlab.i18n.ZH`.

Keys are the English text or format templates (``t("{0} px = {1:.1f} mm").format(...)``, the same placeholders
in both languages). A key already in ``i18n.ZH`` must not be repeated here (checked at import).

Group b: the readouts and warnings of ``widgets/training.py``, ``evaluation.py``, ``explain.py``,
``case_study.py``, ``fusion.py`` and ``privacy.py``.
"""
from __future__ import annotations

ZH: dict[str, str] = {
    # -- 06 training (warnings)
    "Diverged after {0} steps: lr = {1:.3g} is too large for this surface.":
        "{0} 步后发散：学习率 lr = {1:.3g} 对这个曲面来说太大。",
    "At most {0} steps are drawn: press Reset.": "最多绘制 {0} 步：请按“重置”。",
    "Diverged: {0} (learning rate {1:.3g} too large).": "发散：{0}（学习率 {1:.3g} 太大）。",
    "Diverged after {0} steps: lr = {1:.3g} exceeds {2:.3g} for plain gradient descent.":
        "{0} 步后发散：学习率 lr = {1:.3g} 超过了普通梯度下降的上限 {2:.3g}。",
    # -- 07 evaluation
    "<b>positive class: {0}</b>; predicted {0} when {1} {2}{3:.2f}. {4:.0%} intervals: Wilson for the proportions, "
    "stratified bootstrap ({5} resamples) for F1, balanced accuracy, MCC and J, DeLong for the AUC.":
        "<b>阳性类别：{0}</b>；当 {1} {2}{3:.2f} 时预测为{0}。{4:.0%} 置信区间：比例类指标用 Wilson 法，"
        "F1、平衡准确率、MCC 和 J 用分层 Bootstrap（{5} 次重采样），AUC 用 DeLong 法。",
    "At prevalence {0:.1%}: of those called positive, {1:.1%} are ill (PPV = {2:.0f} / ({2:.0f} + {3:.0f})); "
    "of those called negative, {4:.1%} are healthy (NPV). Sensitivity and specificity did not change.":
        "患病率为 {0:.1%} 时：被判为阳性的人中有 {1:.1%} 真正患病（PPV = {2:.0f} / ({2:.0f} + {3:.0f})）；"
        "被判为阴性的人中有 {4:.1%} 确实健康（NPV）。灵敏度和特异度没有改变。",
    "no recalibration": "未重新校准",
    "temperature T = {0:.3f} (fitted on validation)": "温度缩放 T = {0:.3f}（在验证集上拟合）",
    "Platt: sigmoid({0:.3f} logit(p) + {1:.3f}) (fitted on validation)":
        "Platt 缩放：sigmoid({0:.3f} logit(p) + {1:.3f})（在验证集上拟合）",
    "{0}. Measured on the test split.": "{0}。在测试集上测量。",
    "{0} stratified resamples (seed {1}); standard deviation of the resampled AUCs {2:.4f}.":
        "{0} 次分层重采样（随机种子 {1}）；重采样 AUC 的标准差为 {2:.4f}。",
    "Net benefit = TP/N - FP/N x p_t/(1 - p_t); disease = {0}, prevalence {1:.1%}.":
        "净获益 = TP/N - FP/N x p_t/(1 - p_t)；疾病 = {0}，患病率 {1:.1%}。",
    # -- 08 explainability (warnings)
    "no {0} among the {1} images at threshold {2:g}: pick another outcome":
        "在阈值 {2:g} 下，{1} 张图像中没有 {0}：请选择另一种预测结果",
    "patch {0} was not precomputed; pick one of {1}": "图块大小 {0} 没有预先计算；请从 {1} 中选择",
    "stride {0} > patch {1}: some pixels are covered only by the extra window at the border or not at all "
    "(map 0 there)":
        "步长 {0} > 图块 {1}：有些像素只被边界处额外的遮挡窗口覆盖，或完全没有被覆盖（那里的图值为 0）",
    # -- 09 case study
    "Computed, not typed. The region is grown inside the boxes (HU −300…200), so its size is bounded by the "
    "annotation: a box is not an outline.":
        "这些数值是计算出来的，不是手工填写的。区域在标注框内生长（HU −300…200），所以它的大小受标注限制："
        "标注框并不是轮廓。",
    # -- 10 fusion (warnings)
    "select at least one feature group": "请至少选择一个特征组",
    "{0} encodes the label: the AUC is inflated, not earned": "{0} 编码了标签：AUC 是虚高的，并非模型真正学到的",
    # -- 11 privacy
    "intervals preserved": "就诊间隔保持不变",
    "intervals changed: follow-up times are now wrong": "就诊间隔改变了：随访时间现在是错的",
    "local epochs {0}, heterogeneity {1}: not trained yet; press Run (a few seconds)":
        "本地训练轮数 {0}，异质性 {1}：尚未训练；请按“运行”（需几秒钟）",
    "H{0}: {1} images, {2:.0%} pneumonia": "H{0}：{1} 张图像，{2:.0%} 为肺炎",
    "after round {0}: federated {1:.3f}, central {2:.3f}, alone {3}":
        "第 {0} 轮后：联邦学习 {1:.3f}，集中式 {2:.3f}，各医院单独训练 {3}",
    "clip C = {0:.3g}, noise multiplier σ = {1:.3g}: ε = {2:.3g} at δ = {3:g} ({4} steps, sampling rate {5:.3g}). "
    "Nearest precomputed run: C = {6:g}, σ = {7:g} → AUC {8:.3f}.":
        "裁剪范数 C = {0:.3g}，噪声乘数 σ = {1:.3g}：δ = {3:g} 时 ε = {2:.3g}（{4} 步，采样率 {5:.3g}）。"
        "最接近的预计算运行：C = {6:g}，σ = {7:g} → AUC {8:.3f}。",
    " Live run at these values: AUC {0:.3f} ({1:.1f} s).": " 按当前取值实时运行：AUC {0:.3f}（{1:.1f} 秒）。",
    # -- table cells that are sentences (08, 09)
    "{0} ({1} x {1}, stride {2}, fill {3})": "{0}（{1} x {1}，步长 {2}，填充 {3}）",
    "{0:.3g} (logit) hiding rows {1}-{2}, cols {3}-{4}": "{0:.3g}（logit），遮住第 {1}-{2} 行、第 {3}-{4} 列",
    "trained model": "训练好的模型",
    "layers {0} re-initialised": "已重新初始化的层：{0}",
    "{0} of {1}: {2}": "第 {0} 步，共 {1} 步：{2}",
    "{0:.3f} (trained {1:.3f})": "{0:.3f}（训练好的模型 {1:.3f}）",
    "its similarity to the trained model's map (top row)": "它与训练好的模型的图（第一行）的相似度",
    "{0:.3f} (random order {1:.3f}; lower is better)": "{0:.3f}（随机顺序 {1:.3f}；越低越好）",
    "{0:.3f} (random order {1:.3f}; higher is better)": "{0:.3f}（随机顺序 {1:.3f}；越高越好）",
    "shows the tumour (boxed)": "可见肿瘤（有标注框）",
    "shows the tumour (NO box)": "可见肿瘤（无标注框）",
    "is tumour-free": "无肿瘤",
    "tumour (label 1)": "肿瘤（标签 1）",
    "normal lung (label 0)": "正常肺组织（标签 0）",
    "not used: on or next to a slice that shows the tumour": "不使用：位于可见肿瘤的切片上或与其相邻",
    "not used: centre outside the lung mask": "不使用：中心在肺掩膜之外",
    "upper third of the lung (z proxy)": "肺的上三分之一（按 z 近似）",
    "middle third of the lung (z proxy)": "肺的中三分之一（按 z 近似）",
    "lower third of the lung (z proxy)": "肺的下三分之一（按 z 近似）",
    "left": "左侧", "right": "右侧",
}
