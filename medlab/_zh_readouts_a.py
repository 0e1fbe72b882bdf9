"""中文 for the prose sentences of the widgets' readouts (group a); merged into :data:`medlab.i18n.ZH`.

Keys are the English text or format templates (``t("{0} px = {1:.1f} mm").format(...)``, the same placeholders
in both languages). A key already in ``i18n.ZH`` must not be repeated here (checked at import).
"""
from __future__ import annotations

ZH: dict[str, str] = {
    # -- viewer
    "axial": "轴位", "coronal": "冠状位", "sagittal": "矢状位",
    "{0} slice {1}/{2} &middot; {3}-spacing {4:.3g} mm &middot; shown HU range [{5:.0f}, {6:.0f}]":
        "{0}切片 {1}/{2} &middot; {3} 方向间距 {4:.3g} mm &middot; 显示的 HU 范围 [{5:.0f}, {6:.0f}]",
    "<b>label {0} = {1}</b> (image #{2} of the {3} split)": "<b>标签 {0} = {1}</b>（{3}中的第 #{2} 张图像）",
    # -- medical_images
    "D is the identity here, so each axis is origin + index × spacing":
        "这里 D 是单位矩阵，所以每个坐标轴都是 origin + index × spacing",
    "D is not the identity here (a tilted grid): each coordinate mixes all three indices":
        "这里 D 不是单位矩阵（倾斜的网格）：每个坐标都混合了三个索引",
    "p = origin + D·diag(spacing)·(i, j, k); {0}. Zoom (below): the {1}×{1} voxels in the yellow square, "
    "the inspected one outlined in cyan.":
        "p = origin + D·diag(spacing)·(i, j, k)；{0}。放大图（下方）：黄色方框内的 {1}×{1} 个体素，"
        "正在查看的体素用青色框出。",
    "<b>{0}</b> is file {1} by name but slice <b>array[{2}]</b> after sorting by position (z = {3:.0f} mm; "
    "the slice just below it comes from {4}).":
        "按文件名 <b>{0}</b> 是第 {1} 个文件，但按位置排序后是切片 <b>array[{2}]</b>（z = {3:.0f} mm；"
        "紧挨在它下方的切片来自 {4}）。",
    "stored {0} {1}…{2} → HU = stored × {3:g} + ({4:g}) = {5:.0f}…{6:.0f}.":
        "存储值 {0} {1}…{2} → HU = stored × {3:g} + ({4:g}) = {5:.0f}…{6:.0f}。",
    "Right: the position of every file (red: this one). Below it, left: the <b>stored values, read as if HU</b>; "
    "right: <b>HU = stored·slope + intercept</b>. Both use the same window (W {0:g}, L {1:g}) on their numbers: "
    "the stored values are {2:g} too high to be HU, so on the left even the lungs come out white.":
        "右：每个文件的位置（红色：当前文件）。其下方左：<b>把存储值当作 HU 来读</b>；"
        "右：<b>HU = stored·slope + intercept</b>。两者对各自的数值使用同一窗口（W {0:g}，L {1:g}）："
        "存储值比 HU 高出 {2:g}，所以左图中连肺都显示为白色。",
    "slice {0}, row {1}: HU {2:.0f}…{3:.0f}; share of the row per band: {4}":
        "切片 {0}，第 {1} 行：HU {2:.0f}…{3:.0f}；该行落在各组织区间的比例：{4}",
    "Pixels between bands (e.g. −500…−150) are partial-volume mixtures or tissue outside these textbook ranges.":
        "落在区间之间的像素（如 −500…−150）是部分容积效应造成的混合，或是超出这些教科书范围的组织。",
    "shown HU range [{0:.0f}, {1:.0f}]: {2:.0%} of the pixels get a grey level between black and white; "
    "{3:.2f} grey steps per HU":
        "显示的 HU 范围 [{0:.0f}, {1:.0f}]：{2:.0%} 的像素得到介于黑白之间的灰度；每 HU {3:.2f} 个灰度级",
    "Top: coronal row {0} of the resampled grid ({1:.1f} mm from the origin along y), {2} × {3} pixels drawn "
    "{4:.1f}× enlarged. Below: the original grid ({5:g} mm rows), stretched to its true aspect. Only this plane "
    "is resampled at each move (from a slab of 17 input rows around it); the full volume is never built here.":
        "上：重采样网格的冠状第 {0} 行（沿 y 距原点 {1:.1f} mm），{2} × {3} 个像素，放大 {4:.1f}× 显示。"
        "下：原始网格（行距 {5:g} mm），按真实纵横比拉伸。每次移动只重采样这一平面（取其周围 17 个输入行的"
        "薄层）；这里从不构建完整体数据。",
    # -- convolution
    "input {0}×{0}×{1} = {2:,} numbers · Dense({3}): {4:,} parameters ({5}) · dense with the conv's output: "
    "{6:,} ({7}) · Conv2D: {8:,} ({9}) = {10}·{10}·{1}·{11} + {11}, whatever the image size":
        "输入 {0}×{0}×{1} = {2:,} 个数 · Dense({3})：{4:,} 个参数（{5}）· 输出与卷积层同样大小的全连接层：{6:,}（{7}）· "
        "Conv2D：{8:,}（{9}）= {10}·{10}·{1}·{11} + {11}，与图像大小无关",
    "undefined": "无定义", "→ no valid position": "→ 没有有效位置",
    "out = ⌊(n + 2p − k_eff) / s⌋ + 1 with k_eff = d·(k − 1) + 1 = {0}·({1} − 1) + 1 = {2}: "
    "⌊({3} + 2·{4} − {2}) / {5}⌋ + 1":
        "out = ⌊(n + 2p − k_eff) / s⌋ + 1，其中 k_eff = d·(k − 1) + 1 = {0}·({1} − 1) + 1 = {2}："
        "⌊({3} + 2·{4} − {2}) / {5}⌋ + 1",
    "symmetric under the flip: convolution = correlation": "翻转后不变（对称）：卷积 = 相关",
    "antisymmetric: convolution = −correlation": "反对称：卷积 = −相关",
    "neither symmetric nor antisymmetric: the two outputs differ": "既不对称也不反对称：两个输出不同",
    "kernel {0}×{1}, {2} · max |conv − corr| = {3:.3g} · max |conv − corr(flipped kernel)| = {4:.1e} · "
    "max |conv − scipy.signal.convolve| = {5:.1e}":
        "卷积核 {0}×{1}，{2} · max |conv − corr| = {3:.3g} · max |conv − corr(翻转的卷积核)| = {4:.1e} · "
        "max |conv − scipy.signal.convolve| = {5:.1e}",
    "left: the kernel w (top) and the flipped kernel w[::-1, ::-1] (below); red &gt; 0, blue &lt; 0":
        "左：卷积核 w（上）和翻转后的卷积核 w[::-1, ::-1]（下）；红 &gt; 0，蓝 &lt; 0",
    "; the offset slider applies to the off-centre kernel only": "；偏移滑块只作用于偏心卷积核",
    "{0}×{0} output · the kernel spans k_eff = {1}·({2}−1)+1 = {3} pixels · ":
        "{0}×{0} 输出 · 卷积核跨越 k_eff = {1}·({2}−1)+1 = {3} 个像素 · ",
    "the last window ends exactly at the border": "最后一个窗口恰好止于边界",
    "the floor drops {0} pixel(s) at the end: no window fits there": "向下取整舍去了末尾 {0} 个像素：那里放不下窗口",
    " · {0} input pixel(s) per axis are never read (stride/dilation gaps)":
        " · 每个轴上有 {0} 个输入像素从未被读取（步长/空洞造成的间隙）",
    "left: padded input (blue = zero padding, red = pixels no window reads), yellow = the taps of the selected "
    "window, blue dots = where every window starts; right: the output grid, red = the pixel that window computes":
        "左：填充后的输入（蓝 = 零填充，红 = 没有窗口读取的像素），黄 = 所选窗口的抽头，蓝点 = 每个窗口的起点；"
        "右：输出网格，红 = 该窗口计算出的像素",
    "max |ours − tf.nn.conv2d| = {0:.2e} · medlab.ops.conv2d {1:.1f} ms · tf.nn.conv2d {2:.1f} ms (warm)":
        "max |ours − tf.nn.conv2d| = {0:.2e} · medlab.ops.conv2d {1:.1f} ms · tf.nn.conv2d {2:.1f} ms（预热后）",
    "input": "输入",
    "y = {0:+.2f} {1} at every pixel · max |ops.conv2d − tf.nn.conv2d| = {2:.1e} · shown on [{3:.2f}, {4:.2f}] "
    "(the range y can take)":
        "每个像素上 y = {0:+.2f} {1} · max |ops.conv2d − tf.nn.conv2d| = {2:.1e} · 显示范围 [{3:.2f}, {4:.2f}]"
        "（y 可能取值的范围）",
    "left: the three channels (lung, mediastinum, bone window; top to bottom, cropped) · right: the 1×1 conv output y":
        "左：三个通道（肺窗、纵隔窗、骨窗；自上而下，已裁剪）· 右：1×1 卷积的输出 y",
    "X_col is {0}×{1} = ({2}·{3} output pixels) × ({4}·{4} taps) · row {5} ↔ output pixel ({6}, {7}), "
    "window rows {8}..{9}, cols {10}..{11} · with a {4}×{4} box kernel: row · vec(w) = {12:.4f}, "
    "conv2d[{6}, {7}] = {13:.4f}":
        "X_col 为 {0}×{1} = （{2}·{3} 个输出像素）×（{4}·{4} 个抽头）· 第 {5} 行 ↔ 输出像素 ({6}, {7})，"
        "窗口行 {8}..{9}、列 {10}..{11} · 用 {4}×{4} 均值卷积核：row · vec(w) = {12:.4f}，"
        "conv2d[{6}, {7}] = {13:.4f}",
    "left: the 8×8 CT patch, yellow = the window of the selected output pixel; right: X_col (one row per output "
    "pixel, one column per kernel tap; same grey scale as the patch), yellow = the same window laid flat":
        "左：8×8 的 CT 图块，黄 = 所选输出像素的窗口；右：X_col（每个输出像素一行，每个卷积核抽头一列；"
        "灰度与图块相同），黄 = 展平后的同一窗口",
    "conv2d_naive {0:.1f} ms (one run, {1:,.0f}× ops.conv2d)": "conv2d_naive {0:.1f} ms（运行一次，ops.conv2d 的 {1:,.0f}×）",
    "conv2d_naive skipped ({0:,} multiply-adds > {1:,}: it would take ~{2:.1f} s or more)":
        "conv2d_naive 已跳过（{0:,} 次乘加 > {1:,}：需要约 {2:.1f} s 或更久）",
    "{0}×{0} crop, {1}×{1} kernel, {2:,} multiply-adds · ops.conv2d {3:.2f} ms · tf.nn.conv2d {4:.2f} ms "
    "(median of {5}) · {6} · max |difference| = {7:.1e}":
        "{0}×{0} 裁剪，{1}×{1} 卷积核，{2:,} 次乘加 · ops.conv2d {3:.2f} ms · tf.nn.conv2d {4:.2f} ms"
        "（{5} 次的中位数）· {6} · max |差值| = {7:.1e}",
    "{0}×{0}, {1}×{1}: {2:,} multiply-adds": "{0}×{0}，{1}×{1}：{2:,} 次乘加",
    " (too many for the loops: they will be skipped)": "（对循环实现来说太多：将被跳过）",
    " — press <b>{0}</b>": " — 请按 <b>{0}</b>",
    # -- network
    "{0:g} px = {1:.1f} mm (rows) × {2:.1f} mm (cols)": "{0:g} px = {1:.1f} mm（行）× {2:.1f} mm（列）",
    "the image states no pixel spacing, so sizes are in pixels": "该图像未给出像素间距，所以尺寸以像素计",
    " ({0})": "（{0}）",
    "{0}×{1} → {2}×{3} ({4} {5}×{5}, stride {6}) · max |ours − tf.nn.{7}_pool2d| = {8:.1e}":
        "{0}×{1} → {2}×{3}（{4} {5}×{5}，步长 {6}）· max |ours − tf.nn.{7}_pool2d| = {8:.1e}",
    "shift by {0} px: mean |Δ| raw {1:.4f} → pooled {2:.4f}; {3:.0%} of pooled values unchanged":
        "平移 {0} px：mean |Δ| 原图 {1:.4f} → 池化后 {2:.4f}；{3:.0%} 的池化值不变",
    "below: the pooled map of the shift test, red = pooled values the shift moved":
        "下：平移测试的池化图，红 = 被平移改变的池化值",
    "erased (<25% contrast left)": "已被抹去（剩余对比度 <25%）", "still visible": "仍然可见",
    "nodule {0} · <b>{1} pooling, depth {2}</b> (one pixel = {3}×{3} input pixels): {4:.0%} of the nodule's "
    "contrast retained — {5}":
        "结节 {0} · <b>{1}池化，深度 {2}</b>（一个像素 = {3}×{3} 个输入像素）：结节保留了 {4:.0%} 的对比度 — {5}",
    "{0}×{0} input pixels": "{0}×{0} 个输入像素",
    "output {0}×{0}; one output pixel sees {1}; neighbouring output pixels are {2} px apart":
        "输出 {0}×{0}；一个输出像素的感受野为 {1}；相邻输出像素相隔 {2} px",
    "on all {0} test images (p > 0.5 ⇒ pneumonia): {1:.0%} called pneumonia, accuracy {2:.0%} "
    "(always saying pneumonia: {3:.0%})":
        "在全部 {0} 张测试图像上（p > 0.5 ⇒ 肺炎）：{1:.0%} 判为肺炎，准确率 {2:.0%}（一律判为肺炎：{3:.0%}）",
    "image x": "图像 x", "weights w (blue −, red +)": "权重 w（蓝 −，红 +）", "w ⊙ x (sum = w·x)": "w ⊙ x（求和 = w·x）",
    "test image {0}, true label: <b>{1}</b> · ": "测试图像 {0}，真实标签：<b>{1}</b> · ",
    "<b>{0}</b>: output {1}, {2:,} parameters · ": "<b>{0}</b>：输出 {1}，{2:,} 个参数 · ",
    "channel {0}: values [{1:.3g}, {2:.3g}] (black = min, white ≥ 99.5th percentile {3:.3g}), {4:.0%} ≤ 0":
        "通道 {0}：取值 [{1:.3g}, {2:.3g}]（黑 = 最小值，白 ≥ 第 99.5 百分位数 {3:.3g}），{4:.0%} ≤ 0",
    "{0:,} numbers in [{1:.3g}, {2:.3g}], drawn row by row as a {3}×{3} square (channels fastest: neighbouring "
    "values are different channels of one pixel)":
        "{0:,} 个数，取值 [{1:.3g}, {2:.3g}]，逐行画成 {3}×{3} 的方块（通道变化最快：相邻的值是同一像素的不同通道）",
    "value <b>{0:.4f}</b> (bar: 0 → 1, black line = 0.5; an untrained model)":
        "值 <b>{0:.4f}</b>（条形：0 → 1，黑线 = 0.5；未训练的模型）",
    "feature map of the chosen layer and channel": "所选层和通道的特征图",
    # -- preprocessing
    "{0} acts only on method {1} (now: {2})": "{0}只对方法“{1}”起作用（当前：{2}）",
    "the CLAHE clip limit": "CLAHE 裁剪上限", "gamma": "gamma 值",
    "max |CDF(v) − v| after = {0:.3f} (0 = perfectly flat histogram; before: {1:.3f})":
        "处理后 max |CDF(v) − v| = {0:.3f}（0 = 完全平坦的直方图；处理前：{1:.3f}）",
    "Main image: after; below: before, and the histograms with their CDFs.":
        "主图：处理后；下方：处理前，以及带 CDF 的直方图。",
    "radius (window 2r+1)": "半径（窗口 2r+1）", "sigma (px)": "sigma（px）", "iterations": "迭代次数",
    "Filter size = {0}. Computed on the {1}×{2} region at row {3}, column {4} (shown enlarged) to keep updates "
    "under 100 ms. Main image: filtered; below: clean · noisy.":
        "滤波器大小 = {0}。在第 {3} 行、第 {4} 列处的 {1}×{2} 区域上计算（放大显示），使每次更新不超过 100 ms。"
        "主图：滤波后；下方：干净 · 含噪。",
    "HU &gt; {0:.0f}: {1:.1%} of the slice (red). Otsu's threshold for this slice: {2:.0f} HU":
        "HU &gt; {0:.0f}：占切片的 {1:.1%}（红色）。该切片的 Otsu 阈值：{2:.0f} HU",
    "Seed by sliders: <code>ipywidgets.Image</code> has no click event (the <code>ipyevents</code> package would "
    "add one; it is not installed). The preview grows on the shown slice only (a few ms); <b>{0}</b> grows through "
    "the whole volume (~0.1 s).":
        "用滑块设置种子点：<code>ipywidgets.Image</code> 没有点击事件（<code>ipyevents</code> 包可以提供，"
        "但未安装）。预览只在当前切片上生长（几毫秒）；<b>{0}</b> 在整个体数据中生长（约 0.1 s）。",
    "Lower ({0:g} HU) is above Upper ({1:g} HU): the range is empty": "下限（{0:g} HU）高于上限（{1:g} HU）：范围为空",
    "inside": "在范围内", "OUTSIDE (empty region)": "在范围外（区域为空）",
    "slices {0}..{1}": "切片 {0}..{1}", "no slice": "没有切片",
    "<b>3-D region from (z={0}, y={1}, x={2}): {3} voxels = {4:.1f} mL, {5}.</b> Move the slice slider to browse "
    "it; any other change returns to the 2-D preview.":
        "<b>从 (z={0}, y={1}, x={2}) 生长的三维区域：{3} 个体素 = {4:.1f} mL，{5}。</b>移动切片滑块来浏览；"
        "其他任何改动都会回到二维预览。",
    "showing the 3-D region on slice {0} (seed {1:.0f} HU, {2})": "在切片 {0} 上显示三维区域（种子点 {1:.0f} HU，{2}）",
    "seed (z={0}, y={1}, x={2}) = {3:.0f} HU, {4} [{5:.0f}, {6:.0f}] · 2-D region on this slice: {7} px = "
    "{8:.1f} cm² → slab volume {9:.2f} mL (× {10:g} mm slice)":
        "种子点 (z={0}, y={1}, x={2}) = {3:.0f} HU，{4} [{5:.0f}, {6:.0f}] · 本切片上的二维区域：{7} px = "
        "{8:.1f} cm² → 薄层体积 {9:.2f} mL（× {10:g} mm 层厚）",
    "Every voxel below the air threshold: lungs, but also the air around the patient and under the table.":
        "低于空气阈值的所有体素：肺，以及患者周围和检查床下方的空气。",
    "Air regions touching the image border are removed slice by slice: what is left is inside the body.":
        "逐张切片去掉与图像边界相连的空气区域：剩下的都在体内。",
    "3-D connected components; the lungs are separated (thin bridges cut by a 1-px erosion), the two largest kept, "
    "the trachea and main bronchi cut off. Vessels are still holes.":
        "三维连通域；两肺被分开（用 1 像素腐蚀切断细小的连接），保留最大的两个，切除气管和主支气管。血管仍是空洞。",
    "Each lung closed (disk) and its holes filled per slice: vessels and nodules inside the lung now count as lung.":
        "对每侧肺做闭运算（圆盘）并逐张切片填充空洞：肺内的血管和结节现在都算作肺。",
    "2 air inside the body": "2 体内的空气",
    "3 two lungs (airways, gas removed)": "3 两肺（已去除气道和气体）",
    "<b>{0}</b> — {1:.0f} mL in the whole volume": "<b>{0}</b> — 整个体数据中共 {1:.0f} mL",
    "Preview: grown on the shown slice only, from the in-range pixel nearest the box centre (cyan cross). <b>{0}</b> "
    "grows through the whole volume (about 0.5 s). Yellow: the annotated box; red: the region.":
        "预览：只在当前切片上生长，种子是离方框中心最近的、在范围内的像素（青色十字）。<b>{0}</b> 在整个体数据中"
        "生长（约 0.5 s）。黄色：标注框；红色：区域。",
    "<b>3-D region: {0} voxels = {1:.1f} mL, slices {2}..{3} · Dice {4:.3f} · IoU {5:.3f} · {6:.0%} inside the "
    "boxes.</b> Move the slice slider to browse it; any other change returns to the 2-D preview.":
        "<b>三维区域：{0} 个体素 = {1:.1f} mL，切片 {2}..{3} · Dice {4:.3f} · IoU {5:.3f} · {6:.0%} 在标注框内。</b>"
        "移动切片滑块来浏览；其他任何改动都会回到二维预览。",
    "showing the 3-D region on slice {0}": "在切片 {0} 上显示三维区域",
    "slice {0} has no annotated box (the annotation skips it): nothing to grow in 2-D here; {1} shows what the "
    "volume's region does on it":
        "切片 {0} 没有标注框（标注跳过了它）：这里没有可做二维生长的内容；{1} 可显示体数据的区域在这张切片上的样子",
    "slice {0}: region {1} px = {2:.2f} cm² (slab {3:.2f} mL) · Dice with the box {4:.3f} · IoU {5:.3f} · {6:.0%} "
    "of the region inside the box · covers {7:.0%} of the box":
        "切片 {0}：区域 {1} px = {2:.2f} cm²（薄层 {3:.2f} mL）· 与标注框的 Dice {4:.3f} · IoU {5:.3f} · "
        "区域的 {6:.0%} 在框内 · 覆盖了框的 {7:.0%}",
    # -- features
    "{0} bins for {1} pixels: most bins are empty, so the entropy measures the bin count more than the region":
        "{1} 个像素用 {0} 个分箱：大多数分箱是空的，所以熵反映的更多是分箱数而不是区域本身",
    "{0} pixels lie outside [{1:g}, {2:g}] and are counted in the end bins": "{0} 个像素落在 [{1:g}, {2:g}] 之外，计入两端的分箱",
    "the region reaches the box edge: it continues into neighbouring tissue there and the box cuts it off":
        "区域触到了方框边缘：它在那里延伸进相邻组织，被方框截断",
    "{0} values lie beyond ±4 sd and are drawn in the end bins": "{0} 个值超出 ±4 sd，画在两端的分箱中",
    "no image is called positive: sensitivity 0, precision undefined (shown as 0)":
        "没有图像被判为阳性：灵敏度为 0，精确率无定义（显示为 0）",
    "every image is called positive: specificity 0": "所有图像都被判为阳性：特异度为 0",
    "ROI rows {0}..{1}, cols {2}..{3} &middot; {4} levels over [{5:g}, {6:g}] &middot; neighbour offset "
    "(row {7:+d}, col {8:+d}) &middot; symmetric, normalised":
        "ROI 行 {0}..{1}，列 {2}..{3} &middot; 在 [{5:g}, {6:g}] 上分 {4} 个灰度级 &middot; 邻居偏移"
        "（行 {7:+d}，列 {8:+d}）&middot; 对称、归一化",
    "panels: image + ROI | ROI binned | GLCM (i down, j across)": "面板：图像 + ROI | 分级后的 ROI | 灰度共生矩阵（i 向下，j 向右）",
    "<b>yellow</b>: tumour box, <b>cyan</b>: lung parenchyma<br>GLCMs (middle: tumour, right: parenchyma), "
    "{0:g}..{1:g} HU binned":
        "<b>黄色</b>：肿瘤框，<b>青色</b>：肺实质<br>灰度共生矩阵（中：肿瘤，右：肺实质），在 {0:g}..{1:g} HU 上分级",
    "<b>mean squared coefficient per sub-band</b> (L1 = finest)": "<b>各子带系数的均方值</b>（L1 = 最精细）",
    "(training rows), &#9633; support vectors, black line f(x)=0, darker band |f(x)| &le; 1":
        "（训练样本），&#9633; 支持向量，黑线 f(x)=0，深色带 |f(x)| &le; 1",
    "<code>x: {0} {1:.3g} &rarr; {2:.3g}<br>y: {3} {4:.3g} &rarr; {5:.3g} (up)</code><br>":
        "<code>x：{0} {1:.3g} &rarr; {2:.3g}<br>y：{3} {4:.3g} &rarr; {5:.3g}（向上）</code><br>",
    "<b>test ({0} images)</b><br><code>accuracy {1:.3f} &middot; sensitivity {2:.3f} &middot; specificity {3:.3f}"
    "<br>F1 {4:.3f} &middot; ROC AUC {5:.3f}<br>support vectors {6} / {7}":
        "<b>测试集（{0} 张图像）</b><br><code>准确率 {1:.3f} &middot; 灵敏度 {2:.3f} &middot; 特异度 {3:.3f}"
        "<br>F1 {4:.3f} &middot; ROC AUC {5:.3f}<br>支持向量 {6} / {7}",
    " (solver stopped early)": "（求解器提前停止）",
    "gamma acts on standardised features": "gamma 作用于标准化后的特征",
    "the linear kernel has no gamma": "线性核没有 gamma",
    "left: image with the ROI; right: the ROI; chart: its histogram (red: mean and mean ± std, dotted: p10, p50, p90)":
        "左：带 ROI 的图像；右：ROI；图表：其直方图（红：均值及均值 ± 标准差，虚线：p10、p50、p90）",
    "distance {0} at {1:g}° is the offset (row {2:+d}, col {3:+d}): no pixel pair fits inside the {4}×{5} patch":
        "距离 {0}、角度 {1:g}° 对应偏移（行 {2:+d}，列 {3:+d}）：{4}×{5} 的图块内放不下任何像素对",
    "pair {0}: pixel ({1},{2}) level {3} &rarr; neighbour ({4},{5}) level {6} &rArr; P[{3},{6}] += 1":
        "第 {0} 对：像素 ({1},{2}) 灰度级 {3} &rarr; 邻居 ({4},{5}) 灰度级 {6} &rArr; P[{3},{6}] += 1",
    "air below the threshold, not touching the image border, two largest parts":
        "低于阈值、不接触图像边界的空气，取最大的两块",
    "grown from a seed in the box over [threshold, 200] HU, kept inside the box":
        "从框内的种子点在 [阈值, 200] HU 范围内生长，限制在框内",
    "Pixel {0:.3f}×{1:.3f} mm; slice {2} only (tens of ms per update; the 3-D mask takes seconds).":
        "像素 {0:.3f}×{1:.3f} mm；只用切片 {2}（每次更新几十毫秒；三维掩膜需要几秒）。",
    "mean {0:.4g}, sd {1:.4g} of the images shown &middot; AUC {2:.3f}: the chance that a random {3} image has a "
    "larger value than a random {4} image":
        "所示图像的均值 {0:.4g}，标准差 {1:.4g} &middot; AUC {2:.3f}：随机一张{3}图像的值大于随机一张{4}图像的概率",
    "AUC* in the list = max(AUC, 1 − AUC): 0.5 = useless alone, 1 = perfect alone":
        "列表中的 AUC* = max(AUC, 1 − AUC)：0.5 = 单独使用毫无用处，1 = 单独使用即完美",
    "sensitivity {0:.3f} &middot; specificity {1:.3f} &middot; precision {2:.3f} &middot; F1 {3:.3f} &middot; "
    "accuracy {4:.3f} &middot; ROC AUC {5:.3f} (any threshold)":
        "灵敏度 {0:.3f} &middot; 特异度 {1:.3f} &middot; 精确率 {2:.3f} &middot; F1 {3:.3f} &middot; "
        "准确率 {4:.3f} &middot; ROC AUC {5:.3f}（与阈值无关）",
}
