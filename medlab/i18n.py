"""中文 / English: the language of widget labels, buttons, warnings and exercise feedback, and the glossary.

The source article of MedLab is written in Chinese; the notebooks' narrative is English. This module lets a
class switch every *control* (slider, dropdown, toggle and button labels, option labels), the headers and
row names of the widgets' readout tables (``widgets._explorer.html_table``) and the words of exercise
feedback to Chinese, and gives the glossary of the article's terms with the notebook that teaches
each one (shown as a table in 00).

``set_language`` affects what is built or printed *after* the call: run it at the top of a notebook (before
the widgets are built), or re-run the widget cell after switching.

>>> set_language("zh")
'zh'
>>> t("Slice")
'切片'
>>> t("Slice", lang="en")
'Slice'
>>> set_language("en")
'en'
>>> t("Slice")
'Slice'
>>> [(g.zh, g.en) for g in glossary("02")][0]
('卷积', 'convolution')

Untranslated text passes through unchanged (a wrong key never raises); :func:`missing` lists the labels
that have no Chinese translation, and ``tests/test_i18n.py`` fails when a registered widget has one (a control
label, or a header / row name of its default frame's readout table).
"""
from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass
from pathlib import Path

__all__ = ["LANGUAGES", "set_language", "get_language", "t", "missing", "is_neutral", "Term", "GLOSSARY",
           "glossary", "glossary_markdown", "cjk_font_path", "ZH"]

LANGUAGES = ("en", "zh")
_current = ["en"]


def _check_lang(lang: str) -> str:
    if not isinstance(lang, str):
        raise TypeError(f"lang must be a str, one of {LANGUAGES}, got {type(lang).__name__}")
    norm = lang.strip().lower().replace("_", "-")
    if norm in ("zh", "zh-cn", "zh-hans", "cn", "chinese", "中文"):
        return "zh"
    if norm in ("en", "en-gb", "en-us", "english"):
        return "en"
    raise ValueError(f"lang must be one of {LANGUAGES} ('zh' for 中文, 'en' for English), got {lang!r}")


def set_language(lang: str) -> str:
    """Switch widget labels, buttons, warnings and exercise feedback to ``"zh"`` (中文) or ``"en"``.

    Returns the language now in force. Widgets built (and feedback printed) after the call use it.
    Used in 00 §1 (and in any notebook, at its top).

    >>> set_language("zh"); set_language("en")
    'zh'
    'en'
    """
    _current[0] = _check_lang(lang)
    _matplotlib_font(_current[0])
    return _current[0]


_MPL_DEFAULT: list = []


def _matplotlib_font(lang: str) -> None:
    """Charts drawn with matplotlib (plots in notebooks, ``render.Chart`` in widgets) get a CJK font in 中文.

    Matplotlib's default DejaVu Sans has no Chinese glyphs (they come out as empty boxes); the CJK font goes
    first in ``font.sans-serif`` and DejaVu stays as the fallback. English restores the previous list.
    """
    if lang == "zh":
        path = cjk_font_path()
        if path is None:
            return
    elif not _MPL_DEFAULT:  # English and never switched: nothing to restore
        return
    import matplotlib
    from matplotlib import font_manager
    rc = matplotlib.rcParams
    if not _MPL_DEFAULT:
        _MPL_DEFAULT.append(list(rc["font.sans-serif"]))
        _MPL_DEFAULT.append(list(rc["font.family"]))
    if lang == "zh":
        font_manager.fontManager.addfont(path)
        name = font_manager.FontProperties(fname=path).get_name()
        rc["font.sans-serif"] = [name] + [f for f in _MPL_DEFAULT[0] if f != name]
        # glyph by glyph fallback works across font.family's list, not inside "sans-serif": name the CJK face
        # first and DejaVu Sans after it, which has what the CJK face lacks (log₁₀'s subscripts)
        rc["font.family"] = [name, "DejaVu Sans"]
        rc["axes.unicode_minus"] = False  # the CJK font's minus sign is not in every face
    else:
        rc["font.sans-serif"] = list(_MPL_DEFAULT[0])
        rc["font.family"] = list(_MPL_DEFAULT[1])
        rc["axes.unicode_minus"] = True


def get_language() -> str:
    """The language in force: ``"en"`` (default) or ``"zh"``; ``MEDLAB_LANG=zh`` sets the default."""
    return _current[0]


# --------------------------------------------------------------------------------------------- the table
#: English text -> Chinese. Widget control labels, button labels, option labels, feedback words.
ZH: dict[str, str] = {
    # exercise feedback (medlab.exercises.Feedback)
    "Correct": "正确", "Not yet": "还不对", "Hint": "提示",
    "no answer yet.": "尚未作答。",
    "Replace `None` with your answer and run the cell again.": "把 `None` 换成你的答案，然后重新运行这个单元格。",
    # control labels (every label of a registered widget: tests/test_i18n.py)
    "2×2 max-pool after each block": "每个块后 2×2 最大池化",
    "Angle (°)": "角度 (°)",
    "Augmentation (no flips)": "数据增强（不翻转）",
    "Baseline": "基线",
    "Batch size": "批大小",
    "Bias": "偏置",
    "Bias b": "偏置 b",
    "Binning": "分箱方式",
    "Bins": "分箱数",
    "Blocks": "块数",
    "C": "C",
    "CLAHE clip limit": "CLAHE 裁剪限制",
    "Changed only (hide kept)": "只看改动（隐藏保留项）",
    "Channel": "通道",
    "Channels in": "输入通道",
    "Class": "类别",
    "Class weights (balanced)": "类别权重（平衡）",
    "Clip norm C": "裁剪范数 C",
    "Column (mm)": "列 (mm)",
    "Column x": "列 x",
    "Convs/block": "每块卷积层数",
    "Dense units": "全连接单元数",
    "Dilation": "膨胀率",
    "Dilation d": "膨胀率 d",
    "Distance": "距离",
    "Dropout": "Dropout 比例",
    "Epochs": "训练轮数",
    "Feature": "特征",
    "Feature x": "特征 x",
    "Feature y": "特征 y",
    "File": "文件",
    "File (by name)": "文件（按名称）",
    "Fill": "填充",
    "Filter": "滤波器",
    "Filter size": "滤波器尺寸",
    "Filters out": "输出滤波器数",
    "Fraction": "比例",
    "Gain": "增益",
    "Gamma": "Gamma 值",
    "Grad-CAM layer": "Grad-CAM 层",
    "Group": "分组",
    "Grow in 3-D": "三维生长",
    "Heat opacity": "热图不透明度",
    "Heterogeneity": "异质性",
    "Image": "图像",
    "Image #": "图像编号",
    "Image size": "图像尺寸",
    "Index": "索引",
    "Input n": "输入 n",
    "Interpolator": "插值方法",
    "Jump to Otsu": "跳到 Otsu 阈值",
    "Kernel": "卷积核",
    "Kernel k": "卷积核 k",
    "Kernel size": "卷积核尺寸",
    "Key": "密钥",
    "Layer": "层",
    "Learning rate": "学习率",
    "Level": "窗位",
    "Level (HU)": "窗位 (HU)",
    "Level L (HU)": "窗位 L (HU)",
    "Levels": "灰度级数",
    "Local epochs": "本地训练轮数",
    "Lower (HU)": "下限 (HU)",
    "Mask opacity": "掩膜不透明度",
    "Measure": "度量",
    "Method": "方法",
    "Mode": "模式",
    "Model": "模型",
    "Naive: a random shift per visit": "朴素做法：每次就诊随机平移",
    "Neighbours": "邻域",
    "Next ▶": "下一步 ▶",
    "Nodule (px)": "结节 (像素)",
    "Noise": "噪声",
    "Noise level": "噪声水平",
    "Noise multiplier σ": "噪声乘子 σ",
    "Offset (px)": "偏移 (像素)",
    "Optimizer": "优化器",
    "Outcome": "结果类别",
    "Output pixel": "输出像素",
    "Overlay opacity": "叠加不透明度",
    "Padding": "填充",
    "Padding p": "填充 p",
    "Pairs counted": "已计数的像素对",
    "Patch": "图块",
    "Patch (px)": "图块 (像素)",
    "Patient": "患者",
    "Pool depth": "池化深度",
    "Pool size": "池化窗口",
    "Pool stride": "池化步长",
    "Preset": "预设",
    "Prevalence": "患病率",
    "RF dilation": "感受野膨胀率",
    "ROI col": "ROI 列",
    "ROI height": "ROI 高度",
    "ROI row": "ROI 行",
    "ROI width": "ROI 宽度",
    "Randomised layers": "随机化的层",
    "Raw Grad-CAM grid": "原始 Grad-CAM 网格",
    "Recalibration": "重新校准",
    "Region": "区域",
    "Resamples": "重采样次数",
    "Reset": "重置",
    "Rounds": "轮数",
    "Row": "行",
    "Row (mm)": "行 (mm)",
    "Row y": "行 y",
    "Run 25": "运行 25 次",
    "Run at these values": "按这些值运行",
    "Run this setting": "运行此设置",
    "Samples n": "样本数 n",
    "Seed": "随机种子",
    "Seed column (x)": "种子点列 (x)",
    "Seed row (y)": "种子点行 (y)",
    "Sensitivity": "灵敏度",
    "Shift (px)": "平移 (像素)",
    "Show treat all": "显示“全部治疗”",
    "Show tumour boxes": "显示肿瘤框",
    "Similarity": "相似度",
    "Slice": "切片",
    "Slice (of the list)": "切片（列表中）",
    "Slice (z)": "切片 (z)",
    "Slice z": "切片 z",
    "Spacing (mm)": "间距 (mm)",
    "Specificity": "特异度",
    "Split": "数据划分",
    "Step": "步骤",
    "Steps": "步数",
    "Stop": "停止",
    "Stride": "步长",
    "Stride (mm)": "步长 (mm)",
    "Stride (px)": "步长 (像素)",
    "Stride s": "步长 s",
    "Structure": "结构",
    "Surface": "曲面",
    "Target kernel": "目标卷积核",
    "Threshold": "阈值",
    "Threshold (HU)": "阈值 (HU)",
    "Threshold probability": "阈值概率",
    "Train": "训练",
    "Training images": "训练图像数",
    "Upper (HU)": "上限 (HU)",
    "View": "视图",
    "Wavelet": "小波",
    "Weights": "权重",
    "Window": "窗口",
    "Window (HU)": "窗宽 (HU)",
    "Window W (HU)": "窗宽 W (HU)",
    "constrain to box": "限制在框内",
    "symmetric (P + Pᵀ)": "对称 (P + Pᵀ)",
    "Weight": "权重",
    "Load saved runs": "载入已保存的运行",
    "Fusion": "融合方式",
    "Modality": "模态",
    # de-identification options (widgets.privacy.TOGGLES)
    "Retain dates, shifted": "保留日期（平移后）",
    "Retain patient characteristics": "保留患者特征",
    "Retain device identity": "保留设备标识",
    "Retain UIDs": "保留 UID",
    "Clean descriptors": "清理描述字段",
    # window presets (widgets.viewer.PRESETS)
    "Lung": "肺窗", "Mediastinum": "纵隔窗", "Bone": "骨窗", "Brain": "脑窗",
    # CT window channels (widgets.convolution.channel_mix_explorer: "w lung" ...)
    "lung": "肺窗", "mediastinum": "纵隔窗", "bone": "骨窗", "brain": "脑窗",
    # feature groups (widgets.fusion.early_fusion_explorer)
    "first-order": "一阶统计", "wavelet": "小波", "glcm": "灰度共生矩阵", "shape": "形状",
    "clinical (synthetic leak)": "临床（合成泄漏）", "clinical": "临床", "image": "图像", "embedding": "嵌入",
    # option labels
    "(the model did not run)": "（模型未运行）",
    "Axial": "轴位", "Coronal": "冠状位", "Sagittal": "矢状位",
    "B-spline (cubic)": "B 样条（三次）", "nearest neighbour": "最近邻", "linear": "线性",
    "MedLab recipe": "MedLab 方案", "article's CNN": "文章中的 CNN", "tiny CNN": "小型 CNN",
    "chest X-ray": "胸部 X 光", "lung CT": "肺部 CT",
    "max": "最大", "avg": "平均", "none": "无", "uniform": "均匀", "quantile": "分位数",
    "train": "训练集", "val": "验证集", "test": "测试集",
    "sharpen": "锐化", "laplacian": "拉普拉斯",
    "temperature": "温度缩放", "Platt": "Platt 缩放",
    "Spearman": "Spearman 相关", "Spearman |map|": "Spearman 相关（|图|）", "SSIM": "SSIM",
    "rbf": "RBF 核",
    # titles drawn into the widgets' PNGs (render.titled translates them; render.font draws 中文 with a CJK font)
    "kernel / flipped": "卷积核 / 翻转后", "CT crop": "CT 裁剪", "correlation (CNN)": "互相关（CNN）",
    "true convolution": "真正的卷积", "the patch": "图像块", "slice (yellow: box, blue: patch)": "切片（黄：框，蓝：图像块）",
    "occlusion map": "遮挡图", "map alone": "仅显示热图", "vanilla saliency": "原始显著图", "learned": "学到的",
    "target": "目标", "x * learned": "x * 学到的", "x * target": "x * 目标",
    # readout tables: header cells and row names of widgets.html_table (tests/test_i18n.py builds every widget)
    # -- common words
    "before": "处理前", "after": "处理后", "value": "值", "feature": "特征", "metric": "指标", "model": "模型",
    "layer": "层", "slice": "切片", "step": "步骤", "steps": "步数", "loss": "损失", "noise": "噪声",
    "samples": "样本数", "class": "类别", "groups": "特征组", "original": "原始", "map": "归因图",
    "learning rate": "学习率", "optimizer": "优化器", "epoch": "轮次", "width": "宽度", "interval": "区间",
    "note": "注",
    # -- 01 medical images
    "numpy array[z, y, x]": "numpy 数组[z, y, x]", "ITK index (i, j, k)": "ITK 索引 (i, j, k)",
    "size (x, y, z)": "尺寸 (x, y, z)", "voxels": "体素数", "memory (int16)": "内存 (int16)",
    # -- 03 network
    "RF (px)": "感受野 (像素)", "jump": "累积步长",
    # -- 04 preprocessing
    "PSNR (dB)": "PSNR (dB)", "noisy": "含噪图像", "filtered": "滤波后",
    # -- 05 features: first-order statistics, GLCM, shape
    "mean": "均值", "std": "标准差", "min": "最小", "skewness": "偏度", "kurtosis": "峰度",
    "iqr": "四分位距", "uniformity": "均匀度", "entropy": "熵",
    "contrast": "对比度", "dissimilarity": "相异性", "homogeneity": "同质性", "energy": "能量",
    "correlation": "相关性", "cluster_shade": "聚类阴影", "cluster_prominence": "聚类显著性",
    "sum_entropy": "和熵", "difference_entropy": "差熵", "imc1": "信息相关测度 1", "imc2": "信息相关测度 2",
    "tumour": "肿瘤", "parenchyma": "肺实质",
    "area (mm²)": "面积 (mm²)", "pixels": "像素数", "perimeter (mm)": "周长 (mm)", "elongation": "伸长度",
    "roundness": "圆度", "equiv. diameter (mm)": "等效直径 (mm)", "Feret diameter (mm)": "Feret 直径 (mm)",
    # -- 06 training
    "steps taken": "已走步数", "loss now": "当前损失", "theta now": "当前 θ",
    "diverges above lr": "学习率高于此值即发散", "max |w - target|": "|w - 目标| 的最大值",
    "lr limit (2 / largest curvature)": "学习率上限（2 / 最大曲率）",
    "diverged": "发散",
    "{0:g} (= 2 / largest curvature)": "{0:g}（= 2 / 最大曲率）",
    "steps to loss < 1e-3": "损失降到 1e-3 以下所需步数", "sgd": "SGD", "momentum": "动量法", "adam": "Adam",
    "acc": "准确率", "val loss": "验证集损失", "val acc": "验证集准确率", "val AUC": "验证集 AUC",
    "Runs of this session": "本次会话的训练运行", "hover a run for its folder name": "鼠标悬停可见运行文件夹名",
    # -- 07 evaluation (glossary: 准确率 accuracy, 灵敏度/召回率 sensitivity, 特异度, 精确率 PPV)
    "accuracy": "准确率", "sensitivity": "灵敏度", "specificity": "特异度", "ppv": "精确率 (PPV)",
    "npv": "阴性预测值 (NPV)", "balanced_accuracy": "平衡准确率", "mcc": "Matthews 相关系数 (MCC)",
    "youden_j": "Youden 指数 J", "ROC AUC": "ROC AUC", "ROC AUC (DeLong)": "ROC AUC（DeLong 法）",
    "counts tp / fp / tn / fn": "计数 TP / FP / TN / FN", "Brier score": "Brier 分数",
    "bootstrap (percentile)": "Bootstrap（百分位数法）",
    "strategy": "策略", "net benefit": "净获益", "net true positives per 100": "每 100 人的净真阳性数",
    "unnecessary treatments avoided per 100": "每 100 人避免的不必要治疗数",
    "treat all": "全部治疗", "treat none": "全不治疗",
    # -- 08 explainability
    "outcomes": "预测结果", "windows": "遮挡窗口数", "largest drop": "最大下降",
    "vs vanilla": "与原始显著图相比", "sum of attributions": "归因之和", "completeness error": "完备性误差",
    "p(class 1)": "p(类别 1)", "below each map": "每张图下方", "deletion AUC": "删除曲线 AUC",
    "insertion AUC": "插入曲线 AUC",
    # -- 09 case study
    "patches scored": "已评分图块数", "regions ≥ threshold": "≥ 阈值的区域数", "boxes found (TP)": "检出的框 (TP)",
    "boxes missed (FN)": "漏检的框 (FN)", "false-positive regions": "假阳性区域数",
    "FP per slice": "每张切片假阳性数", "centre": "中心", "as a training patch": "作为训练图块",
    "mean HU": "HU 均值", "sd HU": "HU 标准差", "p90 HU": "HU 第 90 百分位数", "GLCM contrast": "GLCM 对比度",
    "GLCM homogeneity": "GLCM 同质性", "density baseline (not learned)": "密度基线（非学习所得）",
    "patient": "患者", "side": "侧别", "position": "位置", "slices (grown region)": "切片（生长区域）",
    "z range": "z 范围", "largest axial diameter": "最大轴位直径",
    "volume (region grown in the boxes)": "体积（框内区域生长所得）", "HU mean ± sd": "HU 均值 ± 标准差",
    "Dice of the region vs its boxes": "区域与其标注框的 Dice",
    # -- 10 fusion
    "weight w": "权重 w", "validation AUC": "验证集 AUC", "threshold (chosen on validation)": "阈值（在验证集上选定）",
    "test AUC": "测试集 AUC", "test accuracy": "测试集准确率", "test sensitivity": "测试集灵敏度",
    "test specificity": "测试集特异度", "test accuracy (threshold 0.5)": "测试集准确率（阈值 0.5）",
    "sensitivity / specificity": "灵敏度 / 特异度",
    # -- 11 privacy (the DICOM keywords stay: is_neutral)
    "tag": "标签", "attribute": "属性", "action (table code)": "操作（表中代码）", "before (masked)": "处理前（已遮蔽）",
    # chart text: axis labels, titles and legend labels drawn by matplotlib in the widgets (tests/test_i18n.py
    # scans medlab/widgets/*.py: every such literal goes through t() and has an entry here)
    # -- common chart words
    "validation": "验证集", "trained": "训练后", "histogram": "直方图", "density": "密度", "level": "置信水平",
    "grey value": "灰度值", "fraction of pixels": "像素比例", "log₁₀(1 + pixels)": "log₁₀(1 + 像素数)",
    "mean ± std": "均值 ± 标准差", "this image": "当前图像", "only": "仅", "skipped": "已跳过",
    # -- 01 medical images
    "file, in file-name order": "文件（按文件名排序）", "z position (mm)": "z 位置 (mm)",
    "ImagePositionPatient z of each file": "各文件 ImagePositionPatient 的 z 值",
    "position along the row (mm)": "沿该行的位置 (mm)", "tissue (HU)": "组织 (HU)",
    "HU histogram of the slice": "该切片的 HU 直方图", "grey level (0 black, 1 white)": "灰度（0 黑，1 白）",
    # -- 02 convolution
    "parameters (log scale)": "参数量（对数坐标）", "parameters of one layer (float32: ×4 bytes)": "单层参数量（float32：×4 字节）",
    "ms (log scale)": "毫秒（对数坐标）", "one convolution, measured here (dotted: 100 ms)": "一次卷积，在本机实测（虚线：100 ms）",
    "measured for": "已测量的设置", "press Measure": "请按“度量”",
    # -- 03 network
    "max pooling": "最大池化", "average pooling": "平均池化", "pooling depth (2×2 each)": "池化深度（每次 2×2）",
    "retained contrast": "保留的对比度", "nodule contrast left after pooling": "池化后保留的结节对比度",
    "all test images: histogram of z": "全部测试图像：z 的直方图",
    # -- 04 preprocessing
    "grey level (0..1)": "灰度 (0..1)", "after (method as chosen)": "处理后（所选方法）",
    "histogram, threshold and Otsu": "直方图、阈值与 Otsu 阈值", "threshold": "阈值", "Otsu": "Otsu 阈值",
    # -- 05 features
    "feature value, standardised: (value − mean) / sd of the images shown": "特征值（标准化）：(值 − 均值) / 所示图像的标准差",
    "bins over": "个分箱，范围", "ROC AUC alone": "单独使用的 ROC AUC", "higher in": "较高的类别：",
    "SVM decision value f(x)": "SVM 决策值 f(x)", "test images": "测试图像数",
    "test scores; called positive right of the line": "测试集得分；线右侧判为阳性",
    "1 − specificity (false-positive rate)": "1 − 特异度（假阳性率）", "ROC curve": "ROC 曲线",
    "confusion at threshold": "混淆矩阵，阈值",
    "CNN at the validation threshold": "CNN，阈值在验证集上选定",
    # -- 06 training
    "parabola": "抛物线", "bowl": "碗形曲面", "rosenbrock": "Rosenbrock 函数",
    "the nine weights (dashed: target)": "九个权重（虚线：目标）",
    "train (per batch, smoothed)": "训练集（每批次，平滑后）", "validation (per epoch)": "验证集（每轮次）",
    "validation loss of every run of this session": "本次会话每次运行的验证集损失",
    # -- 07 evaluation
    "1 - specificity": "1 - 特异度", "recall (sensitivity)": "召回率（灵敏度）", "precision (PPV)": "精确率 (PPV)",
    "precision-recall": "精确率-召回率", "prevalence": "患病率", "predictive value": "预测值",
    "of 1,000 patients": "每 1,000 名患者中", "perfect calibration": "完美校准", "model (test)": "模型（测试集）",
    "mean predicted P(label 1) in bin": "箱内平均预测 P(标签 1)", "observed fraction of label 1": "标签 1 的实际比例",
    "predicted P(label 1)": "预测 P(标签 1)", "fraction of test images (20 bins)": "测试图像比例（20 个分箱）",
    "true positive": "真阳性", "false negative": "假阴性", "false positive": "假阳性", "true negative": "真阴性",
    "DeLong interval": "DeLong 区间", "ROC AUC of a resample": "一次重采样的 ROC AUC",
    "fraction of resamples": "重采样比例", "number of resamples": "重采样次数",
    "interval width (dotted: DeLong)": "区间宽度（点线：DeLong）",
    "threshold probability $p_t$": "阈值概率 $p_t$",
    # -- 08 explainability
    "deletion": "删除", "insertion": "插入",
    "image ({0})": "图像（{0}）", "raw {0} x {1}": "原始 {0} × {1}", "{0} x {1} windows": "{0} × {1} 个窗口",
    "SmoothGrad {0} %, n={1}": "SmoothGrad {0} %，n={1}", "baseline: {0}": "基线：{0}", "IG, {0} steps": "IG，{0} 步",
    "{0} % deleted": "已删除 {0} %", "{0} % inserted": "已插入 {0} %",
    "shift {0} px: {1:.0%} moved (red)": "平移 {0} 像素：{1:.0%} 发生变化（红色）",
    "random del.": "随机删除", "random ins.": "随机插入", "black": "全黑", "blurred image": "模糊图像",
    "Saliency |dz/dx|": "显著图 |dz/dx|", "Gradient x input": "梯度 × 输入", "Occlusion": "遮挡",
    "Integrated gradients": "积分梯度", "Edge detector": "边缘检测器",
    "Spearman rank corr. of |map|": "|图| 的 Spearman 秩相关", "Spearman rank corr.": "Spearman 秩相关",
    # -- 09 case study
    "false positives per slice": "每张切片的假阳性数", "sensitivity (boxed slices)": "灵敏度（有标注框的切片）",
    "FROC-style curve": "FROC 式曲线",
    # -- 10 fusion
    "weight w of": "权重 w，作用于", "chosen on validation": "在验证集上选定", "test ROC AUC": "测试集 ROC AUC",
    # -- 11 privacy
    "round (= local epochs x round for local/central)": "轮次（本地/集中式：本地训练轮数 × 轮次）",
    "federated (FedAvg)": "联邦学习 (FedAvg)", "central (pooled)": "集中式（数据汇总）",
    "hospital": "医院", "alone": "单独训练", "epsilon (log; no noise = right edge)": "epsilon（对数；无噪声 = 右边缘）",
    # -- widget headers (explorer(title=...))
    "Gradient descent, one step at a time": "梯度下降，一步一步来", "Optimizer race": "优化器竞赛",
    "Learning a kernel by gradient descent": "用梯度下降学习卷积核",
    "Live training dashboard (PneumoniaMNIST 28x28)": "实时训练仪表板（PneumoniaMNIST 28×28）",
    "Threshold lab": "阈值实验室", "Prevalence and predictive values": "患病率与预测值",
    "Calibration explorer": "校准探索器", "Bootstrap explorer": "Bootstrap 探索器", "Decision curve": "决策曲线",
    "Attribution maps by outcome": "按预测结果分组的归因图", "Occlusion: hide a patch, watch the logit": "遮挡：遮住一个图块，观察 logit",
    "SmoothGrad: average the gradient over noisy copies": "SmoothGrad：对加噪副本的梯度取平均",
    "Integrated gradients and completeness": "积分梯度与完备性",
    "Cascading randomisation: top row trained, bottom row randomised": "级联随机化：上行为训练后的模型，下行为随机化后的模型",
    "Faithfulness: delete / insert the top-ranked pixels": "忠实度：删除 / 插入排名最高的像素",
    "Late fusion": "晚期融合", "Early fusion: which feature groups?": "早期融合：选哪些特征组？",
    "Findings card": "检查发现卡片",
    # text drawn with Pillow (ImageDraw.text) into the widgets' PNGs; a key with {0}, {1:.2f} ... is a format
    # template (t("{0} at {1:.2f}: ...").format(...)): the Chinese keeps the same placeholders
    # -- 01 medical images: the tissue bands of the HU profile (own keys: "lung" / "bone" are the CT *windows*)
    "air (HU band)": "空气", "lung (HU band)": "肺组织", "fat (HU band)": "脂肪", "water (HU band)": "水",
    "soft tissue (HU band)": "软组织", "bone (HU band)": "骨",
    # -- 05 features: the GLCM counted by hand
    "offset (row {0:+d}, col {1:+d}) · pair {2} of {3}": "偏移（行 {0:+d}，列 {1:+d}）· 第 {2} 对，共 {3} 对",
    "j = neighbour's grey level": "j = 相邻像素的灰度级", "(ref.)": "(参考)",
    "P[i, j] after {0} pair · total {1}": "P[i, j]：计数 {0} 对后 · 合计 {1}",
    "P[i, j] after {0} pairs · total {1}": "P[i, j]：计数 {0} 对后 · 合计 {1}",
    "P[i, j] after {0} pair + transpose · total {1}": "P[i, j]：计数 {0} 对并加转置后 · 合计 {1}",
    "P[i, j] after {0} pairs + transpose · total {1}": "P[i, j]：计数 {0} 对并加转置后 · 合计 {1}",
    # -- 06 training: the dashboard's plan and filter panels
    "next run: {0} ({1:,} parameters), {2} lr {3:.2g}, batch {4}, {5} epoch(s), dropout {6:.2f}":
        "下一次运行：{0}（{1:,} 个参数），{2}，学习率 {3:.2g}，批大小 {4}，{5} 轮，Dropout {6:.2f}",
    "augmentation {0}, class weights {1}, seed {2}, {3:,} training images = {4:,} steps":
        "数据增强：{0}，类别权重：{1}，随机种子 {2}，{3:,} 张训练图像 = {4:,} 步",
    "on": "开", "off": "关", "balanced": "平衡",
    "first-layer filters (this epoch)": "第一层滤波器（本轮）",
    # -- 06 dashboard: status line and run table
    "{0}: epoch {1}/{2}, batch {3}/{4}, {5:,.0f} images/s, ETA {6:,.0f} s":
        "{0}：第 {1}/{2} 轮，批次 {3}/{4}，{5:,.0f} 张图像/秒，预计剩余 {6:,.0f} 秒",
    "idle": "空闲", "training": "训练中", "stopped": "已停止", "completed": "已完成", "early_stopped": "已提前停止",
    "failed": "失败", "stopping (validating and saving the partial run)": "正在停止（验证并保存已训练的部分）",
    "run": "运行", "status": "状态", "epochs": "轮数", "images/s": "图像/秒",
    # -- 07 evaluation: the titles drawn on the blitted charts (_Labels)
    "{0} at {1:.2f}: accuracy {2:.3f}": "{0}，阈值 {1:.2f}：准确率 {2:.3f}",
    "pred. {0}": "预测为{0}", "true {0}": "实际为{0}", "negative": "阴性", "positive": "阳性",
    "{0}, {1}: ECE {2:.3f} ({3} {4} bins)": "{0}，{1}：ECE {2:.3f}（{3} 个{4}分箱）",
    "raw": "未校准", "temperature-scaled": "温度缩放后", "Platt-scaled": "Platt 缩放后",
    "where the predictions fall (Brier {0:.4f})": "预测值的分布（Brier {0:.4f}）",
    "{0}: AUC {1:.3f}, bootstrap {2:.0%} [{3:.3f}, {4:.3f}], {5} resamples":
        "{0}：AUC {1:.3f}，Bootstrap {2:.0%} [{3:.3f}, {4:.3f}]，{5} 次重采样",
    "p_t = {0:.2f}: a false positive weighs {1:.2f} true positives": "p_t = {0:.2f}：一个假阳性的代价相当于 {1:.2f} 个真阳性",
    "p_t = 0: treat everyone": "p_t = 0：全部治疗",
    # -- 11 privacy: the tag browser (groups, actions of Table E.1-1, summary line)
    "all": "全部", "patient (0010)": "患者 (0010)", "study, series, equipment (0008/0018/0020)":
        "检查、序列、设备 (0008/0018/0020)", "UIDs": "UID", "private (odd groups)": "私有标签（奇数组）",
    "file meta (0002)": "文件元信息 (0002)",
    "removed": "已删除", "emptied": "已清空", "dummy": "替换为假值", "kept": "保留", "cleaned": "已清理",
    "new UID": "新 UID", "UIDs inside": "内含 UID 已替换", "replaced": "已替换",
    "{0} attribute(s); options: {1}; {2}": "{0} 个属性；选项：{1}；{2}", "none (Basic Profile)": "无（基本配置文件）",
    "nothing": "无", "no attribute of this group in Table E.1-1": "表 E.1-1 中没有该组的属性",
    # -- 11 privacy: the date-shift timeline ("original" is above)
    "shifted": "平移后", "{0} d": "{0} 天", "visit": "就诊", "shift (days)": "平移（天）",
    "{0}: shift per visit (naive) with key '{1}'": "{0}：每次就诊各自平移（朴素做法），密钥 '{1}'",
    "{0}: shift {1} days with key '{2}'": "{0}：平移 {1} 天，密钥 '{2}'",
    # -- option labels of Choice controls (the values the frame receives stay English)
    "identity": "恒等", "box": "均值（盒式）", "gaussian": "高斯", "emboss": "浮雕", "all classes": "全部类别",
    "Gaussian": "高斯", "Salt & pepper": "椒盐", "Poisson": "泊松", "None": "无", "Median": "中值",
    "Curvature flow": "曲率流", "Equalise": "直方图均衡化", "Stretch": "对比度拉伸", "black (0)": "全黑 (0)",
    "image mean": "图像均值", "Face (4/6)": "面邻接 (4/6)", "Full (8/26)": "全邻接 (8/26)", "lungs": "双肺",
    "Chest X-ray": "胸部 X 光片", "CT slice (lung window)": "CT 切片（肺窗）",
    "Edge detector (no model)": "边缘检测器（无模型）", "tumour box": "肿瘤框", "lung parenchyma": "肺实质",
    "4×4 example (exercise 2.1)": "4×4 示例（练习 2.1）", "6×6 vertical stripes": "6×6 竖条纹",
    "6×6 checkerboard": "6×6 棋盘格", "6×6 gradient": "6×6 渐变", "6×6 random (seed 0)": "6×6 随机（种子 0）",
    "pneumonia − normal (class means)": "肺炎 − 正常（类别均值）", "centre of the chest (Gaussian)": "胸部中心（高斯）",
    "left − right half": "左半 − 右半", "random (seed 0)": "随机（种子 0）", "embedded CT": "内置 CT",
    # -- datasets
    "normal": "正常", "pneumonia": "肺炎",
}


def _merge_readouts() -> None:
    """Add the readout sentences (``medlab/_zh_readouts_*.py``) to :data:`ZH`; a key defined twice is an error,
    not a silent override."""
    from . import _zh_readouts_a, _zh_readouts_b

    for mod in (_zh_readouts_a, _zh_readouts_b):
        clash = sorted(set(mod.ZH) & set(ZH))
        if clash:
            raise RuntimeError(f"{mod.__name__} repeats keys already in medlab.i18n.ZH: {clash[:5]}")
        ZH.update(mod.ZH)


_merge_readouts()

#: Labels made at build time from data: (pattern, Chinese template using the groups).
_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^Weight of (.+)$"), "{0} 的权重"),
    (re.compile(r"^Weight (.+)$"), "{0} 权重"),
    (re.compile(r"^Run (\d+)$"), "运行 {0} 次"),
    (re.compile(r"^w (\S.*)$"), "w {0}"),                   # a channel weight: "w lung" -> "w 肺窗"
    # readout tables (html_table) whose row names or headers carry a number or a name
    (re.compile(r"^images in (.+)$"), "{0}图像数"),           # "images in train" -> "训练集图像数"
    (re.compile(r"^loss after (\d+)$"), "{0} 步后的损失"),
    (re.compile(r"^over the (\d+) slices: (.+)$"), "{0} 张切片合计：{1}"),
    (re.compile(r"^score: (.+)$"), "评分：{0}"),
    (re.compile(r"^Output pixel \((\d+), (\d+)\) — step (\d+) of (\d+)$"), "输出像素 ({0}, {1}) — 第 {2} 步，共 {3} 步"),
    (re.compile(r"^([\d.]+) mm iso$"), "{0} mm 各向同性"),
    (re.compile(r"^(\S+): tumour probability over the thorax$"), "{0}：胸腔内各处的肿瘤概率"),   # 09 headers
    (re.compile(r"^(\S+): one ([\d.]+) mm patch$"), "{0}：一个 {1} mm 图块"),
    (re.compile(r"^CT slice (\d+): (.+)$"), "CT 切片 {0}：{1}"),           # option labels
    (re.compile(r"^off-centre (\d+)$"), "偏心 {0}"),
    (re.compile(r"^(\S+) \((\d+) visits\)$"), "{0}（{1} 次就诊）"),
    (re.compile(r"^(\S+) \((embedded CT)\)$"), "{0}（{1}）"),
    (re.compile(r"^wavelet_A(\d+)$"), "小波 A{0}（近似）"),
    (re.compile(r"^wavelet_L(\d+)_H$"), "小波 L{0}_H（水平细节）"),
    (re.compile(r"^wavelet_L(\d+)_V$"), "小波 L{0}_V（垂直细节）"),
    (re.compile(r"^wavelet_L(\d+)_D$"), "小波 L{0}_D（对角细节）"),
    # 07 evaluation: the prevalence explorer's model name and its marked prevalences ("train 74%")
    (re.compile(r"^(\S+) at threshold ([\d.]+)$"), "{0}，阈值 {1}"),
    (re.compile(r"^(train|val|test) ([\d.]+ ?%)$"), "{0} {1}"),
    # 04 lung segmentation steps (medlab.preprocess.lung_mask), named with their parameters
    (re.compile(r"^1 air \(HU < (-?[\d.]+)\)$"), "1 空气（HU < {0}）"),
    (re.compile(r"^4 vessels filled \(closing r=(\d+), fill holes\)$"), "4 填充血管（闭运算 r={0}，填充空洞）"),
    # core errors a learner reaches with the controls, shown as widget warnings (Explorer._set_warning):
    # medlab.ops._out_len (a kernel or pool window wider than the padded input) and preprocess.box_grow
    (re.compile(r"^Invalid configuration: (.+)$", re.S), "配置无效：{0}"),
    (re.compile(r"^Invalid kernel: (.+)$", re.S), "卷积核无效：{0}"),
    (re.compile(r"^Invalid pooling: (.+)$", re.S), "池化设置无效：{0}"),
    (re.compile(r"^Invalid stack: (.+)$", re.S), "层堆叠无效：{0}"),
    (re.compile(r"^Invalid 1×1 filter: (.+)$", re.S), "1×1 滤波器无效：{0}"),
    (re.compile(r"^Cannot run the model: (.+)$", re.S), "无法运行模型：{0}"),
    (re.compile(r"^(\S+): kernel \(size (\d+)\) spans (\d+) pixels, larger than the padded input "
                r"\((\d+) \+ (\d+) \+ (\d+) = (\d+)\); use a smaller kernel or more padding$"),
     "{0}：卷积核（尺寸 {1}）覆盖 {2} 个像素，大于填充后的输入（{3} + {4} + {5} = {6}）；请换更小的卷积核或增加填充"),
    (re.compile(r"^(\S+): kernel \(size (\d+) with dilation (\d+)\) spans (\d+) pixels, larger than the padded "
                r"input \((\d+) \+ (\d+) \+ (\d+) = (\d+)\); use a smaller kernel or more padding$"),
     "{0}：卷积核（尺寸 {1}，膨胀 {2}）覆盖 {3} 个像素，大于填充后的输入（{4} + {5} + {6} = {7}）；"
     "请换更小的卷积核或增加填充"),
    (re.compile(r"^(\S+): pool window \(size (\d+)\) spans (\d+) pixels, larger than the padded input "
                r"\((\d+) \+ (\d+) \+ (\d+) = (\d+)\); use a smaller pool window or more padding$"),
     "{0}：池化窗口（尺寸 {1}）覆盖 {2} 个像素，大于填充后的输入（{3} + {4} + {5} = {6}）；请换更小的池化窗口或增加填充"),
    (re.compile(r"^no voxel inside the box has a value in \[(\S+), (\S+)\]; widen the range$"),
     "框内没有体素的值落在 [{0}, {1}] 之内；请放宽范围"),
]

def is_neutral(text: str) -> bool:
    """True for labels that are notation, not words (``"w 3"``, ``"w[0, 1]"``, ``"C"``, ``"sobel_x"``, and
    DICOM keywords or attribute paths, one CamelCase token: ``"PatientName"``, ``"file_meta.SOPClassUID"``).

    >>> is_neutral("w[0, 1]"), is_neutral("Slice"), is_neutral("SliceThickness"), is_neutral("slice thickness")
    (True, False, True, False)
    """
    if not isinstance(text, str):
        return True
    s = text.strip()
    if not s or not re.search(r"[A-Za-z]{2,}", s.replace("sobel", "").replace("prewitt", "")):
        return True
    if re.fullmatch(r"\S*[a-z][A-Z]\S*", s):  # a CamelCase identifier (a DICOM keyword), not a word to translate
        return True
    return bool(re.fullmatch(r"[A-Z]{2,6}|(?:sobel|prewitt)_[xy]|w ?\[?[\d, ]*\]?", s))


def t(text: str, lang: str | None = None) -> str:
    """The text in the current language (``lang`` overrides it); unknown text is returned unchanged.

    >>> t("Learning rate", lang="zh"), t("Weight of CT", lang="zh"), t("w 3", lang="zh")
    ('学习率', 'CT 的权重', 'w 3')
    """
    if not isinstance(text, str):
        return text
    lang = _current[0] if lang is None else _check_lang(lang)
    if lang == "en":
        return text
    if text in ZH:
        return ZH[text]
    for pattern, template in _PATTERNS:
        m = pattern.match(text)
        if m:
            return template.format(*(t(g, lang) for g in m.groups()))
    return text


def missing(labels) -> list[str]:
    """The labels (an iterable of str) with no Chinese translation and not pure notation.

    >>> missing(["Slice", "w 2", "Frobnicate"])
    ['Frobnicate']
    """
    out = []
    for label in labels:
        if not isinstance(label, str) or is_neutral(label):
            continue
        if t(label, lang="zh") == label and label not in ZH:
            out.append(label)
    return sorted(set(out))


# --------------------------------------------------------------------------------------------- glossary
@dataclass(frozen=True)
class Term:
    """A term of the source article: Chinese, English, and the notebook that teaches it."""
    zh: str
    en: str
    notebook: str


GLOSSARY: tuple[Term, ...] = (
    Term("卷积", "convolution", "02"),
    Term("卷积核", "kernel (filter)", "02"),
    Term("步长", "stride", "02"),
    Term("填充", "padding", "02"),
    Term("池化", "pooling", "03"),
    Term("感受野", "receptive field", "03"),
    Term("全连接层", "dense (fully connected) layer", "03"),
    Term("特征图", "feature map", "03"),
    Term("医学影像", "medical image", "01"),
    Term("体素", "voxel", "01"),
    Term("亨氏单位", "Hounsfield unit (HU)", "01"),
    Term("窗宽窗位", "window width / level", "01"),
    Term("直方图均衡化", "histogram equalisation", "04"),
    Term("中值滤波", "median filter", "04"),
    Term("阈值分割", "threshold segmentation", "04"),
    Term("区域生长", "region growing", "04"),
    Term("灰度共生矩阵", "grey-level co-occurrence matrix (GLCM)", "05"),
    Term("纹理特征", "texture feature", "05"),
    Term("小波变换", "wavelet transform", "05"),
    Term("支持向量机", "support vector machine (SVM)", "05"),
    Term("损失函数", "loss function", "06"),
    Term("梯度下降", "gradient descent", "06"),
    Term("反向传播", "back-propagation", "06"),
    Term("学习率", "learning rate", "06"),
    Term("过拟合", "overfitting", "06"),
    Term("数据增强", "data augmentation", "06"),
    Term("迁移学习", "transfer learning", "06"),
    Term("准确率", "accuracy", "07"),
    Term("召回率", "recall (sensitivity)", "07"),
    Term("精确率", "precision (PPV)", "07"),
    Term("特异度", "specificity", "07"),
    Term("F1 值", "F1 score", "07"),
    Term("混淆矩阵", "confusion matrix", "07"),
    Term("置信区间", "confidence interval", "07"),
    Term("校准", "calibration", "07"),
    Term("可解释性", "interpretability (explainability)", "08"),
    Term("显著图", "saliency map", "08"),
    Term("肺结节", "pulmonary nodule", "09"),
    Term("跨模态融合", "multimodal (cross-modal) fusion", "10"),
    Term("数据隐私", "data privacy", "11"),
    Term("去标识化", "de-identification", "11"),
    Term("联邦学习", "federated learning", "11"),
    Term("差分隐私", "differential privacy", "11"),
)


def glossary(notebook: str | None = None) -> list[Term]:
    """The glossary, optionally only the terms taught in ``notebook`` (``"02"``); in notebook order.

    >>> [term.zh for term in glossary("04")]
    ['直方图均衡化', '中值滤波', '阈值分割', '区域生长']
    """
    if notebook is not None:
        if not isinstance(notebook, str) or not re.fullmatch(r"\d\d", notebook):
            raise ValueError(f"notebook must be a two-digit string such as '02', got {notebook!r}")
    terms = [g for g in GLOSSARY if notebook is None or g.notebook == notebook]
    return sorted(terms, key=lambda g: g.notebook)


def glossary_markdown(notebook: str | None = None) -> str:
    """The glossary as a Markdown table (中文 | English | notebook), for 00 (``display(Markdown(...))``).

    >>> glossary_markdown("03").splitlines()[2]
    '| 池化 | pooling | 03 |'
    """
    rows = ["| 中文 | English | notebook |", "|---|---|---|"]
    rows += [f"| {g.zh} | {g.en} | {g.notebook} |" for g in glossary(notebook)]
    return "\n".join(rows)


# --------------------------------------------------------------------------------------------- fonts
_CJK_CANDIDATES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/System/Library/Fonts/PingFang.ttc",
    "C:/Windows/Fonts/msyh.ttc",
)


def cjk_font_path() -> str | None:
    """A font file with Chinese glyphs for text drawn into PNGs (Pillow), or ``None`` if none is installed.

    ``MEDLAB_CJK_FONT`` overrides the search; the Makefile / ``.ci/run`` install Debian's ``fonts-noto-cjk``.
    """
    return _find_cjk_font(os.environ.get("MEDLAB_CJK_FONT") or "")


@functools.lru_cache(maxsize=8)
def _find_cjk_font(override: str) -> str | None:
    # cached: render.font asks on every text it draws in a widget update (no file-system checks each time)
    for cand in ((override,) if override else ()) + _CJK_CANDIDATES:
        if cand and Path(cand).is_file():
            return cand
    return None


if os.environ.get("MEDLAB_LANG"):
    try:
        set_language(os.environ["MEDLAB_LANG"])
    except ValueError:
        pass
