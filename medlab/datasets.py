"""Embedded, checksum-verified real medical image data.

All data lives in the project's ``datasets/`` folder (or the folder named by the
environment variable ``MEDLAB_DATA``). Every file is addressed by its sha256: a loader
verifies the files it reads once per process and raises :class:`DatasetError` when a file
is missing, truncated or changed. Loaders only ever *read*; nothing is written to the
data folder. Licences and citations: ``datasets/README.md``.

>>> images, labels = load_breastmnist("val")
>>> images.shape, images.dtype, labels.shape
((78, 28, 28), dtype('uint8'), (78,))
"""
from __future__ import annotations

import csv
import hashlib
import os
import zipfile
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np


class _LazySimpleITK:
    """SimpleITK, imported on first use: notebooks that load only X-rays (06-08, 10, 11) never pay its
    ~90 MiB (issue 13's memory budget); the CT loaders import it when called."""

    def __getattr__(self, name: str) -> Any:
        import SimpleITK

        globals()["sitk"] = SimpleITK
        return getattr(SimpleITK, name)


sitk: Any = _LazySimpleITK()

__all__ = [
    "DatasetError", "DATA_DIR", "data_dir", "list_datasets", "verify", "verify_all",
    "load_pneumoniamnist", "load_breastmnist", "load_lung_ct", "load_head_ct", "load_chest_xray",
    "LungCT", "TumourBox", "LUNG_CT_PATIENTS", "UNBOXED_TUMOUR_SLICES", "CLASS_NAMES", "CHEST_XRAYS", "as_tf_dataset",
    "load_chestxray256", "protected_dirs", "check_output_path",
]

#: The data folder shipped with the repository (``MEDLAB_DATA`` overrides it at call time).
DATA_DIR = Path(__file__).resolve().parent.parent / "datasets"

#: sha256 of every embedded file, relative to the data folder (from datasets/README.md).
CHECKSUMS: dict[str, str] = {
    "breastmnist.npz": "0f599db83baf94298d600419608e3ebebcc491d1e5d6031d2ffcf5629e919481",
    "chest_xray/00000001_000.png": "c8cbe59e6b9b186060dc68e63965658fa6b5b3ada6648d25c189b8b69b43cd4c",
    "chest_xray/00027426_000.png": "c03ad7e574b14cf8442e61f9a4e849997b5e09f645ece069b714e5d4c5d8a2c2",
    "chestxray256.npz": "50ba16892d18aea30be60fefbebba9f49467dd0cf4b5209504df251e07bf5747",
    "chestxray256_index.csv": "7220be61b22fcd238f05475726b89188bd2fcab165fd52afc5f04701cc3e97ec",
    "headsq_ct.nii.gz": "02dab36a1108af57bf96638289249939dfd97d4f0a2bc3944a78937b5c803276",
    "lung_ct_annotations/1.3.6.1.4.1.14519.5.2.1.6655.2359.122259036515695905512549026864.xml": "e9bdaa552c689b375a7d355bb9e8d6f991be8dfe84ce0e3b9028e2c52374dc00",
    "lung_ct_annotations/1.3.6.1.4.1.14519.5.2.1.6655.2359.143229220134004659147800817664.xml": "1662f85034e2df82da602b78df250ca0a9487dc20af9c4c52d2881b68b2036af",
    "lung_ct_annotations/1.3.6.1.4.1.14519.5.2.1.6655.2359.145636676081119360296419944385.xml": "dcc9e3749218ecefd5ff92813840b76b00e10b71d04fcfe68c8925a5a42dde76",
    "lung_ct_annotations/1.3.6.1.4.1.14519.5.2.1.6655.2359.174269535156304951625805754184.xml": "ca96dc7d8f017b197a8edf749a384c2af9e74d4cb390280c595fea892cefba17",
    "lung_ct_annotations/1.3.6.1.4.1.14519.5.2.1.6655.2359.191960383852949572073542121650.xml": "8fd1fa393270b16678b3ce9514b384da552aeadf05389a86413727539ba1ade2",
    "lung_ct_annotations/1.3.6.1.4.1.14519.5.2.1.6655.2359.225810647627448096790806208568.xml": "656da6f47282ae7d3ea78ffc3ba861ac6e29bf6fd38bdae82c50db974be3aecb",
    "lung_ct_annotations/1.3.6.1.4.1.14519.5.2.1.6655.2359.234210370365936053269828907501.xml": "61b1e5b3ca347b615ea93fc907dc7eb59437af9d07d62ef0e6a10b2586cef382",
    "lung_ct_annotations/1.3.6.1.4.1.14519.5.2.1.6655.2359.323570046735549256812896573959.xml": "da6960cc3d1d1e00a2932765fc40f0cdea349edad6751da57e84ee12083ba7fe",
    "lung_ct_annotations/1.3.6.1.4.1.14519.5.2.1.6655.2359.326556466222007829265608175539.xml": "e9ef168ebf14fd527e4fc4ca582758aa140a6882cb493252bc88f3f16cc46088",
    "lung_ct_annotations/1.3.6.1.4.1.14519.5.2.1.6655.2359.476982701137697438217958989680.xml": "460627c44bd8e0ee0d3b4328e1bc87284c55cacd24917fb56bfedbca67a88bdf",
    "lung_ct_annotations/tumour_boxes.csv": "8470e2be5da3fb1d3ad743a664cb062b6896bcfe54bcc1bef333f19cefbf3d0a",
    "lung_ct_dicom/1-01.dcm": "2651ecddb8593082efb24a562c1b5e0107392985b85c8dc652ab4f4fa097e8d7",
    "lung_ct_dicom/1-02.dcm": "c8dedcac603608d8f776f2522d3e0bd1814eea8cf70d40a79b155f2cb7dc62c3",
    "lung_ct_dicom/1-03.dcm": "dddbde77efd8f88d54727c676df2e4601d4d44c70cef45663a67338f5bd45160",
    "lung_ct_dicom/1-04.dcm": "c305a385a6eb821cbf98e22d30edfc57d510a068581de52c337bef1d892cdd40",
    "lung_ct_dicom/1-05.dcm": "bb93d2125a07d3a06637aac3aae0f379ad35e14d9319f4ebd2cbe42593c41738",
    "lung_ct_dicom/1-06.dcm": "d4a7e4786f4647025053d75258a452e66f7aa8f216cef87b574f64a7a70828e2",
    "lung_ct_dicom/1-07.dcm": "e7bc2bacee22ec2d38d2216df19c839d07d11ac1c8650efbf1b192dc0c89d69a",
    "lung_ct_dicom/1-08.dcm": "e94f1a6e3c549b2800f6e6565e747e6663920c779f9d09c6c8a6e0f8bf9e5e07",
    "lung_ct_dicom/1-09.dcm": "275349aed8e01a9db9eb030614ab01140004f9736a9438ea6d90be92b357247e",
    "lung_ct_dicom/1-10.dcm": "797e4e7ff5a7af84c3919b6af7eba300317a7aed23aa75af6a58e2616f244271",
    "lung_ct_dicom/1-11.dcm": "a530c1ebfcd77f042aa81919373f8b3dffa60ed54fea86228e9c3ed2d10a4113",
    "lung_ct_dicom/1-12.dcm": "184724df7001c9cc55becfcf5e9347dd6a52954de8e67abc50c683fb7a140a8e",
    "lung_ct_dicom/1-13.dcm": "98239cbdf125bb0d82aef051796b1e67eac7bfdc9f89669349bdfa17db101fb2",
    "lung_ct_dicom/1-14.dcm": "6d09572748f44152d9d142dd5ac77918c9ed7d40702450132146c301773d8976",
    "lung_ct_dicom/1-15.dcm": "316c244b61e4870d3063f12f82efb9dde63e721e0301a7ffa65d6036e1321c92",
    "lung_ct_dicom/1-16.dcm": "8907ada86e2e210a318cbd28232cc72ed04339e9f93a8fc6f6deb28f598e8c03",
    "lung_ct_dicom/1-17.dcm": "e9f9224352526b19442edd2ed36f9361c21f347d797b1502ab2a2057050a4970",
    "lung_ct_dicom/1-18.dcm": "b278ec92a2d5b10694fdc99ff687be1038b2fa20bbb83cfb4e8635101ca9b781",
    "lung_ct_dicom/1-19.dcm": "6124de9094763594c1d9dd89413eaaad71aacb9a339c392be714a4f502571230",
    "lung_ct_dicom/1-20.dcm": "832b98b8d7615a17f7ad082af6ee1493c6185e86a07192a64282d40728a4e436",
    "lung_ct_dicom/1-21.dcm": "6a4d56fce8f42e41d9c6b212eb4d3788114214473cbf4a622ba62b3b493f8b8b",
    "lung_ct_dicom/1-22.dcm": "0a48c15b1721b09b5f855dd4342e3d192c1560fc88ebdb11af01f1755df201a4",
    "lung_ct_dicom/1-23.dcm": "730b5fd91fc969f70eae57a3b0b2f9670488ee43dfbc96cc2fc0a4924f7fba26",
    "lung_ct_dicom/1-24.dcm": "d7f06cf150e8e22e863d2105250bfc471555189bae158f14dfa9a1aabcd7d1d7",
    "lung_ct_dicom/1-25.dcm": "f5c212d7a2c325dd2755f7dd99b2ebc40bdc9b1c06229f7b508e2594c4bae2b6",
    "lung_ct_dicom/1-26.dcm": "bd53ca65155716209aee40fec8c304ee9bda17ef41ed468882b89c1048ce1557",
    "lung_ct_dicom/1-27.dcm": "773e885afd20c596bcb3225c97f05af358f6ff1e342df72fcfaa5ddf80c656f8",
    "lung_ct_dicom/1-28.dcm": "80f6099ed4276bda817ad91a2380e6bf9704e76dc4a5aea3da9d41c9c14efe61",
    "lung_ct_dicom/1-29.dcm": "3991b74d55cf2369fe36518e50185c697846deb5c55804e7ef4bb058413d201c",
    "lung_ct_dicom/1-30.dcm": "bd905322dc63b28dd7b2e6199522e10583b9204da9aec6b47d7355c1d7f27690",
    "lung_ct_dicom/LICENSE_TCIA_Lung-PET-CT-Dx.txt": "29e286014609673e83a514c5e739884f5bb0a585d09af16b3439f82e7edb9b9e",
    "lung_ct2_annotations/1.3.6.1.4.1.14519.5.2.1.6655.2359.102500633407588554681658808214.xml": "797ee3a9cfdcbcd4380e84ebe96e4c97b5615a90bf71132c91738da61d55cc66",
    "lung_ct2_annotations/1.3.6.1.4.1.14519.5.2.1.6655.2359.103293611003651848123608366756.xml": "403839161cc7c8edcc4187a438e05ae4f0dd8da08b563efa59508e11fdd3e4c0",
    "lung_ct2_annotations/1.3.6.1.4.1.14519.5.2.1.6655.2359.191468104323452587789797624004.xml": "6e410216dc298aa58ef634a700bdfc199b804bf3436f4a49f6adfc417f8cc53a",
    "lung_ct2_annotations/1.3.6.1.4.1.14519.5.2.1.6655.2359.217649008723153656849717286154.xml": "fa9e29e5781775ca54d5e1ca89cd6ae9996c7d30b31f16ea934f6f126890ad4b",
    "lung_ct2_annotations/1.3.6.1.4.1.14519.5.2.1.6655.2359.253763111879303517159545374933.xml": "e171a7ac582b7444e22a4f67704a6211ee85528ac696d2e0ec0a17b731ddab8f",
    "lung_ct2_annotations/1.3.6.1.4.1.14519.5.2.1.6655.2359.289186849349654450104973032531.xml": "43c1f323094fa3a687604f9902f32f038227f0682704c19ff10bc46bc3e8a5f0",
    "lung_ct2_annotations/1.3.6.1.4.1.14519.5.2.1.6655.2359.326712390675165848304281961959.xml": "a4d77628e9d03330f0f9b523fd37d331edd9a6a6c71d72ab4191c316909bb7f7",
    "lung_ct2_annotations/1.3.6.1.4.1.14519.5.2.1.6655.2359.592450921957945360354404357368.xml": "cf5f4ff595d8f6956c1d0369be352360eb3a505fee3230f2968bf183d739234c",
    "lung_ct2_annotations/1.3.6.1.4.1.14519.5.2.1.6655.2359.741206086241237558496042747969.xml": "678b6577e64a83727d407376d79d52ffdae12188b4193177e19155da52a0b499",
    "lung_ct2_annotations/tcia_metadata.csv": "d96827ed9064b5e72a15a460638591a8769242e1c66aed5c07958ff4986b417c",
    "lung_ct2_annotations/tumour_boxes.csv": "d23e0a1dbfb26fce2d91416511147d9dc5b35a79b1413c087da99f6f8cf62d1c",
    "lung_ct2_dicom/1-01.dcm": "df338062df30ced4c7f0fa0829195b3cc465ab7024c3d397eacf8adff3c69bfc",
    "lung_ct2_dicom/1-02.dcm": "a0f3e08f7cde7440e49c30f2b5a5b469ca8be6e7e772d2dfa5c9a68265b2c59e",
    "lung_ct2_dicom/1-03.dcm": "6aae0ce46375652957924263d3a7531263bc4baadf45eaf52c4af8c0dbbaf3cf",
    "lung_ct2_dicom/1-04.dcm": "51ff06f3c627a46d991002020524a44cdd9843556ef3e2401436eff610f62d0a",
    "lung_ct2_dicom/1-05.dcm": "7b99df20e91ba95462bdf77e7bcff94d53d258a4d5c1ba0a3078a82cd6bbb0aa",
    "lung_ct2_dicom/1-06.dcm": "5962ec2304684de330e7472d24ec5ef7f8f4d71d47d38e8cf181f0cd8380d2bf",
    "lung_ct2_dicom/1-07.dcm": "043d9a121a0271324101082b6fdb4ac7ac42222a39ee02ed8d52a635cee72376",
    "lung_ct2_dicom/1-08.dcm": "29d36e4793650bae448fb9b53084223cabaacaee00c66a23933a3552b7639598",
    "lung_ct2_dicom/1-09.dcm": "a3b3a4a182f65556988bbbfee0eb1fe91a6d7fcbe5c6c90e3d62c45ddb1677e3",
    "lung_ct2_dicom/1-10.dcm": "c85e772265fe2da920af7d2d609dcf73d30a8fe1f557b406da2cd606a05d83bf",
    "lung_ct2_dicom/1-11.dcm": "449e393a90a1c6fbc2956a1c55b1f3a1a6085c6ef638039132dd9e892b0d5574",
    "lung_ct2_dicom/1-12.dcm": "d0cad0cf0f4d5e36b4b7fb5dafe6e026ad5cfd33619637235c819c8531a874e9",
    "lung_ct2_dicom/1-13.dcm": "fbfcb820e6f3970147c2f4e140d718b4e5c530aebce4ec602ce20a5f4d7ce96d",
    "lung_ct2_dicom/1-14.dcm": "55fa1335738b263a344600dcea2948aaf352bbff5104bb128cf708204e409996",
    "lung_ct2_dicom/1-15.dcm": "f4b0700778f3ec9a9ff929667a2e24d243c3f2909525370f1bacf877e63c856f",
    "lung_ct2_dicom/1-16.dcm": "3cb42b20dedcfe5a37e4efebddebbe51259aa39a01113a837eaae5610e34e960",
    "lung_ct2_dicom/1-17.dcm": "7b5743d290244a63d8e5ad16ed866e623918ab0a58ceb3414be9ff69bd304c91",
    "lung_ct2_dicom/1-18.dcm": "d128c0e7228f20c4d8093993c7a2027a8bcddc78d6f8aac664d84f0f8cdb3b95",
    "lung_ct2_dicom/1-19.dcm": "ce4e3785b031acb332022e6d119c6526123aff0df1455ce8d7e9f12c040cb915",
    "lung_ct2_dicom/1-20.dcm": "ecd88dfca2624845424c36c759f9a2ed7db197a5f6890646687173d96218e775",
    "lung_ct2_dicom/1-21.dcm": "5022e95375020fe52c8b32ce78e477ad9c1216256e42505ae13ec85a045771aa",
    "lung_ct2_dicom/1-22.dcm": "58246c3a2ca856f1addbddd51d049a4bdc71878d3a5e03ef0a2bc22c6f59536a",
    "lung_ct2_dicom/1-23.dcm": "2db581701d470bc16a374df9ea656178f4a50444dabbee361e9633eeca4ba632",
    "lung_ct2_dicom/1-24.dcm": "1a5c83055bd48e26dc09e813111f9aa9da1a4e92497383b326e524f5d3dce2cb",
    "lung_ct2_dicom/1-25.dcm": "4d91aa05d5f1d016a2f7c58da79d11019bee20ecebc57f78ac8a29d9d2b57a9d",
    "lung_ct2_dicom/1-26.dcm": "16eac52e872ec3a36bdb8e57bb0496233bb206b03369b95df9caa17544b63a29",
    "lung_ct2_dicom/1-27.dcm": "9913e9bd5d23d21fc486b98df45f37e04e1a9503921cc3f4994c1c53b602c0aa",
    "lung_ct2_dicom/1-28.dcm": "eb819eb246bb89885214196d68a35480150d1f7834f71789678cede93fe89d46",
    "lung_ct2_dicom/1-29.dcm": "a484bb0f843a8f8c886c3852c281e2f83f296a43b2c5647a4f81aa3d8c6fe19a",
    "lung_ct2_dicom/1-30.dcm": "c6eb52fa8ea6d42ee5ca046e6f368cc26fe2b0daebad438dc6f571d9f1e1a67f",
    "lung_ct2_dicom/1-31.dcm": "c687154697fc2d0221adbfa94044f878a097ae8caebe0f773323b463196e4216",
    "lung_ct2_dicom/1-32.dcm": "cae0cacc78a8e77ab161f6f5d458c5bc7b727c602c5e540dd6f62936cddce6e3",
    "lung_ct2_dicom/1-33.dcm": "99b7f111f1a7b988e722f45c5b3a3de97f06e18fa10e84d42f040504934335b5",
    "lung_ct2_dicom/1-34.dcm": "2705f5a1c2f17a4e40dd265cd6dfe7da6379301e244c263181e563361e72d155",
    "lung_ct2_dicom/1-35.dcm": "0d266934e3083f7ecc7e80f83d0a86c8901c5e6c3f3be9c892450c2a26259f6e",
    "lung_ct2_dicom/1-36.dcm": "89d13babcc58adbfdda3d47edc3cd0b2f3b8d1ffd5a8b08b34161977be637d6d",
    "lung_ct2_dicom/1-37.dcm": "a5f1ed6c3b5a74038b78983e218334d93cbd548e8a5993915eba072f6bb58884",
    "lung_ct2_dicom/1-38.dcm": "17b8c599a1046de075f0e185af6a5a9047ac923fae364f98c6b756952c1ab530",
    "lung_ct2_dicom/1-39.dcm": "e1af629228be84ec3ba453d131087a0809901a45487e746d5a0f4b3680459a4c",
    "lung_ct2_dicom/1-40.dcm": "4c5f480c37bca26b665650287be356c81424791d23b5980130733aa593ce2246",
    "lung_ct2_dicom/1-41.dcm": "20691a94b3bb4f7345a3638a2dda33b9fda4651516851f84b2ce5fee56ca72e6",
    "lung_ct2_dicom/1-42.dcm": "7447fd6bce400f338ea0aa40df1c0cedef095527b4e114ee79944c547b56b8e0",
    "lung_ct2_dicom/1-43.dcm": "7ae3741fc729e2645478a1cf9a92c3fcbaa194087b2ee28695ae4920009ea62a",
    "lung_ct2_dicom/1-44.dcm": "b1e8fe3dde4f1d0f4a4e10336ae3b59f8bc8a3dc9b46ffd43b7cdfdfdf65364a",
    "lung_ct2_dicom/1-45.dcm": "691dd7d404e9ad0a9826ad402a92bc290a59f8f89ce77d5b81aee4a55fa09902",
    "lung_ct2_dicom/1-46.dcm": "3586a13eb35b94ee5bf454487c333445193e0f9bb2f1d8e45a3e48ddb8dd2a70",
    "lung_ct2_dicom/1-47.dcm": "a4fcef580553da821516661f10c9de533dc331230fa51ea744f02ee3981877f8",
    "lung_ct2_dicom/1-48.dcm": "751c318aeb76f70e5749c3a8a10c4f763a2fd554ac799cecbcd41489448f4d6c",
    "lung_ct2_dicom/1-49.dcm": "462cb9e100f1d0fb2628850a34810cc1867678b66ca0decce1c34c7b6210e2b6",
    "lung_ct2_dicom/1-50.dcm": "20d4b2af47b20e1968bb6fa4313a2ea14b6f0e629b9a226064ed19fb8d542535",
    "lung_ct2_dicom/1-51.dcm": "5aad31d6b3998fdc70844190d24b395fcf9cfd4e6ed8c280ade7cf6982b7d62e",
    "lung_ct2_dicom/1-52.dcm": "aa378390b2ea0e6a362da4cef483e9e0e123d3ad1209c7d42bf709dfad09e809",
    "lung_ct2_dicom/1-53.dcm": "1ef270fa821abb066d1524eba44ced829cee9feb49346de1b3db60b2fd405fbc",
    "lung_ct2_dicom/1-54.dcm": "6ff6393b9350b93ad1037aa2f53d03b7c400cb4629c855bc550496cc3e50b9ba",
    "lung_ct2_dicom/1-55.dcm": "519e911761f0c52f338bda1360872360359dafc10baff0bb7c69bc18b7a8f73d",
    "lung_ct2_dicom/1-56.dcm": "e99c2bea3c03672180bafca7ded232fa3c31c04235ff9be73213cbe818c2e50f",
    "lung_ct2_dicom/1-57.dcm": "0d56c851b052dcb987536ab48347887696531ef2845b828ff4af1e03395e9b6e",
    "lung_ct2_dicom/1-58.dcm": "faf663f95c290d4030fdfdcaf685645f794bec3e20c7edc6d9afc50ad38b8379",
    "lung_ct2_dicom/1-59.dcm": "db53291921ff8c7d4f61c2e934e9bb31b52e012a5ec5580c827fd08b8edab31d",
    "lung_ct2_dicom/1-60.dcm": "d93cfb8657e3fcf5e0e88d539093cbe3bf33203712dfd22776e0efdc327e5111",
    "lung_ct2_dicom/1-61.dcm": "7381d6d63c4fcc98a3c726c669552728787417dc19366bbeed0884ec9e109bfb",
    "lung_ct2_dicom/1-62.dcm": "6afb3da5b4607d1b6d74c12de05e8201c44ebb3d895fde3a264e0242e40f813e",
    "lung_ct2_dicom/1-63.dcm": "273b0b1349373ab9281d7cd6266b1a672f0a9b17137fe0bd9b897cbc55761167",
    "lung_ct2_dicom/1-64.dcm": "b25065f24cf0ada3accb53b9c751ccc34287fa6a0ef2abb2bb8e0444a6041366",
    "lung_ct2_dicom/LICENSE_TCIA_Lung-PET-CT-Dx.txt": "29e286014609673e83a514c5e739884f5bb0a585d09af16b3439f82e7edb9b9e",
    "pneumoniamnist.npz": "0c32c3eb984d4c5fc0615034ff1e7f327ba6cd19f2c0d2e201ce4695d7a282e1",}

DATASETS: dict[str, str] = {
    "pneumoniamnist": "PneumoniaMNIST: 5,856 paediatric chest X-rays, 28x28, normal vs pneumonia (CC BY 4.0)",
    "breastmnist": "BreastMNIST: 780 breast ultrasound images, 28x28, malignant vs normal/benign (CC BY 4.0)",
    "lung_ct": "Chest CT series, 512x512x30, HU, with 10 tumour boxes (adenocarcinoma), TCIA Lung-PET-CT-Dx (CC BY 4.0)",
    "lung_ct2": "Second chest CT patient (A0001, Philips), 512x512x64, 0.84 mm pixels, 5 mm slices, 9 tumour boxes "
                "(adenocarcinoma, left upper lobe), TCIA Lung-PET-CT-Dx (CC BY 4.0); load_lung_ct(patient='A0001')",
    "head_ct": "Small head CT volume, 64x64x93, 3.2x3.2x1.5 mm (VTK 'headsq', BSD-3-Clause)",
    "chest_xray": "Two adult frontal chest X-rays, 512x512, NIH ChestX-ray14 (attribution required)",
    "chestxray256": "670 paediatric chest X-rays, 256x256, patient-disjoint train/val/test, normal vs pneumonia "
                    "(bacterial/viral), Kermany et al. (CC BY 4.0)",
}

CLASS_NAMES: dict[str, dict[int, str]] = {
    "pneumoniamnist": {0: "normal", 1: "pneumonia"},
    "breastmnist": {0: "malignant", 1: "normal/benign"},
}

#: Chest X-ray name -> NIH finding label.
CHEST_XRAYS: dict[str, str] = {"00000001_000": "Cardiomegaly", "00027426_000": "No Finding"}

SPLITS = ("train", "val", "test")


class DatasetError(RuntimeError):
    """A data file is missing, truncated, changed or unreadable. The message says how to restore it."""


def data_dir() -> Path:
    """The data folder in use: ``$MEDLAB_DATA`` if set, else the repository's ``datasets/``.

    >>> (data_dir() / "pneumoniamnist.npz").exists()
    True
    """
    env = os.environ.get("MEDLAB_DATA")
    return Path(env).expanduser().resolve() if env else DATA_DIR


def protected_dirs() -> tuple[Path, ...]:
    """The folders nothing may ever write into: the repository's ``datasets/`` and ``data_dir()`` (resolved).

    Every saver checks its target with :func:`medlab._validate.check_output_path` (a file) or
    :func:`medlab._validate.check_output_dir` (a folder), which refuse these folders, any folder holding a
    ``SHA256SUMS`` file, and any existing copy of a data file.

    >>> DATA_DIR.resolve() in protected_dirs()
    True
    """
    dirs = [DATA_DIR.resolve(), data_dir().resolve()]
    return tuple(dict.fromkeys(dirs))


def check_output_path(path: Any, name: str = "path", *, overwrite: bool = True) -> Path:
    """The write guard for savers, re-exported from :mod:`medlab._validate` (see there).

    >>> check_output_path(data_dir() / "pneumoniamnist")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ValueError: path .../pneumoniamnist is inside the data folder ...
    """
    from ._validate import check_output_path as _guard

    return _guard(path, name, overwrite=overwrite)


def list_datasets() -> dict[str, str]:
    """Names of the embedded datasets with a one-line description.

    >>> sorted(list_datasets())[:2]
    ['breastmnist', 'chest_xray']
    """
    return dict(DATASETS)


_RESTORE = ("Restore it with `git checkout -- datasets/{rel}` in the MedLab checkout "
            "(or copy it again from the original source named in datasets/README.md).")
_verified: dict[Path, tuple[int, int]] = {}


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def verify(rel: str) -> Path:
    """Check one file (path relative to the data folder) against its sha256 and return its path.

    The check runs once per process per file (re-run if the file's size or mtime changes).
    Raises :class:`DatasetError` if the file is missing or its hash differs.

    >>> verify("breastmnist.npz").name
    'breastmnist.npz'
    """
    if not isinstance(rel, str):
        raise TypeError(f"rel must be a data file name (str) relative to the data folder, got {type(rel).__name__}")
    if rel not in CHECKSUMS:
        raise ValueError(f"unknown data file {rel!r}; known files: see medlab.datasets.CHECKSUMS")
    path = data_dir() / rel
    try:
        st = path.stat()
    except FileNotFoundError:
        raise DatasetError(f"data file missing: {path}. " + _RESTORE.format(rel=rel)) from None
    key = (st.st_size, st.st_mtime_ns)
    if _verified.get(path) == key:
        return path
    actual = _sha256(path)
    expected = CHECKSUMS[rel]
    if actual != expected:
        raise DatasetError(
            f"data file changed or truncated: {path} ({st.st_size:,} bytes)\n"
            f"  expected sha256 {expected}\n  actual   sha256 {actual}\n" + _RESTORE.format(rel=rel))
    _verified[path] = key
    return path


def verify_all() -> dict[str, str]:
    """Verify every embedded file; returns ``{relative path: "ok" | error message}`` (never raises).

    >>> report = verify_all()
    >>> len(report) == len(CHECKSUMS), set(report.values())
    (True, {'ok'})
    """
    report = {}
    for rel in sorted(CHECKSUMS):
        try:
            verify(rel)
            report[rel] = "ok"
        except DatasetError as e:
            report[rel] = str(e).splitlines()[0]
    return report


# --------------------------------------------------------------------------- MedMNIST
def _load_medmnist(file: str, split: str) -> tuple[np.ndarray, np.ndarray]:
    if not isinstance(split, str) or split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    path = verify(file)
    try:
        with np.load(path) as npz:
            images = np.asarray(npz[f"{split}_images"])
            labels = np.asarray(npz[f"{split}_labels"]).reshape(-1).astype(np.int64)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as e:
        raise DatasetError(f"cannot read {path}: {e}. " + _RESTORE.format(rel=file)) from e
    return images, labels


def load_pneumoniamnist(split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """PneumoniaMNIST images ``uint8 (N, 28, 28)`` and labels ``int64 (N,)`` (0 normal, 1 pneumonia).

    The train split's order is *not* the official one (see datasets/README.md): always
    shuffle with a seed before training or taking a subset.

    >>> x, y = load_pneumoniamnist("test"); x.shape, int(y.sum())
    ((624, 28, 28), 390)
    """
    return _load_medmnist("pneumoniamnist.npz", split)


def load_breastmnist(split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """BreastMNIST images ``uint8 (N, 28, 28)`` and labels ``int64 (N,)`` (0 malignant, 1 normal/benign).

    >>> x, y = load_breastmnist("test"); x.shape
    (156, 28, 28)
    """
    return _load_medmnist("breastmnist.npz", split)


# --------------------------------------------------------------------------- lung CT
@dataclass(frozen=True)
class TumourBox:
    """A tumour bounding box on one axial slice, in voxel indices (inclusive) and in mm.

    ``row`` is the image y index, ``col`` the x index; ``slice_index`` indexes ``LungCT.array``.
    ``min_mm``/``max_mm`` are the physical (x, y, z) corners in the patient frame (LPS, mm).
    """

    slice_index: int
    row0: int
    col0: int
    row1: int
    col1: int
    label: str
    z_mm: float
    min_mm: tuple[float, float, float]
    max_mm: tuple[float, float, float]
    sop_instance_uid: str

    @property
    def size_mm(self) -> tuple[float, float]:
        """Width (x) and height (y) of the box in mm, counting whole pixels."""
        return (self.max_mm[0] - self.min_mm[0], self.max_mm[1] - self.min_mm[1])


class LungCT:
    """The embedded chest CT: ``image`` (SimpleITK, HU), ``array`` (z, y, x, a read-only copy), ``boxes``,
    ``mask()``."""

    def __init__(self, image: sitk.Image, boxes: list[TumourBox], files: list[Path], patient: str = "A0002"):
        self.image = image
        self.boxes = boxes
        self.files = files
        self.patient = patient

    @cached_property
    def array(self) -> np.ndarray:
        """The voxels as a read-only numpy array, shape (z, y, x), int16 HU.

        A copy (15 MB), not ``GetArrayViewFromImage``: a view does not keep the SimpleITK image
        alive, so ``load_lung_ct().array`` would read freed memory once the object is gone.
        """
        arr = sitk.GetArrayFromImage(self.image)
        arr.flags.writeable = False
        return arr

    @property
    def spacing(self) -> tuple[float, float, float]:
        """Voxel spacing (x, y, z) in mm."""
        return self.image.GetSpacing()

    def mask(self) -> np.ndarray:
        """Box mask, uint8 (z, y, x): 1 inside the annotated boxes. A box is *not* a segmentation."""
        m = np.zeros(self.array.shape, dtype=np.uint8)
        for b in self.boxes:
            m[b.slice_index, b.row0:b.row1 + 1, b.col0:b.col1 + 1] = 1
        return m

    def mask_image(self) -> sitk.Image:
        """The box mask as a SimpleITK image with the CT's geometry."""
        m = sitk.GetImageFromArray(self.mask())
        m.CopyInformation(self.image)
        return m

    def __repr__(self) -> str:
        sx, sy, sz = self.spacing
        return (f"LungCT(size={self.image.GetSize()}, spacing=({sx:.4f}, {sy:.4f}, {sz:.1f}) mm, "
                f"HU {int(self.array.min())}..{int(self.array.max())}, {len(self.boxes)} tumour boxes)")


#: patient id -> (DICOM folder, annotation folder) of the embedded chest CTs (both TCIA Lung-PET-CT-Dx).
LUNG_CT_PATIENTS: dict[str, tuple[str, str]] = {
    "A0002": ("lung_ct_dicom", "lung_ct_annotations"),
    "A0001": ("lung_ct2_dicom", "lung_ct2_annotations"),
}

#: Slices (file names) that show the mass but carry no box (MANIFEST of A0001): never tumour-free negatives.
UNBOXED_TUMOUR_SLICES: dict[str, tuple[str, ...]] = {"A0002": (), "A0001": ("1-13.dcm", "1-23.dcm")}


def _dicom_files(folder: str = "lung_ct_dicom") -> list[str]:
    return sorted(rel for rel in CHECKSUMS if rel.startswith(folder + "/") and rel.endswith(".dcm"))


def load_lung_ct(patient: str = "A0002") -> LungCT:
    """Read an embedded chest CT DICOM series with its tumour boxes.

    ``patient="A0002"`` (default; Siemens, 30 slices of 8 mm, 0.6465 mm pixels, mass in the right lung) or
    ``"A0001"`` (Philips, 64 slices of 5 mm, 0.842 mm pixels, mass in the left upper lobe; slices ``1-13``
    and ``1-23`` show the mass without a box, see :data:`UNBOXED_TUMOUR_SLICES`). Used in 00-05 and 09.

    >>> ct = load_lung_ct(); ct.array.shape, ct.spacing[2]
    ((30, 512, 512), 8.0)
    """
    if not isinstance(patient, str) or patient not in LUNG_CT_PATIENTS:
        raise ValueError(f"patient must be one of {sorted(LUNG_CT_PATIENTS)}, got {patient!r}")
    dicom_dir, ann_dir = LUNG_CT_PATIENTS[patient]
    folder = data_dir() / dicom_dir
    expected = _dicom_files(dicom_dir)
    for rel in expected + [f"{ann_dir}/tumour_boxes.csv"]:
        verify(rel)
    reader = sitk.ImageSeriesReader()
    try:
        files = reader.GetGDCMSeriesFileNames(str(folder))
    except RuntimeError as e:
        raise DatasetError(f"cannot list the DICOM series in {folder}: {e}") from e
    if len(files) != len(expected):
        raise DatasetError(
            f"the DICOM series in {folder} has {len(files)} readable slices, expected {len(expected)}. "
            + _RESTORE.format(rel=dicom_dir))
    reader.SetFileNames(files)
    try:
        image = reader.Execute()
    except RuntimeError as e:
        raise DatasetError(f"cannot read the DICOM series in {folder}: {e}") from e
    boxes = _read_boxes(image, ann_dir, [Path(f).name for f in files])
    return LungCT(image, boxes, [Path(f) for f in files], patient)


def _read_boxes(image: sitk.Image, ann_dir: str = "lung_ct_annotations",
                file_names: list[str] | None = None) -> list[TumourBox]:
    """Boxes of ``ann_dir/tumour_boxes.csv``; the slice index is the CSV's NIfTI index (A0002) or the
    position of its ``dicom_file`` in the series as read (A0001)."""
    path = data_dir() / ann_dir / "tumour_boxes.csv"
    boxes = []
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            if "slice_index_in_nifti" in row:
                k = int(row["slice_index_in_nifti"])
            else:
                if not file_names or row["dicom_file"] not in file_names:
                    raise DatasetError(f"{path}: box for {row['dicom_file']!r}, which is not in the series")
                k = file_names.index(row["dicom_file"])
            x0, y0, x1, y1 = (int(row[c]) for c in ("xmin", "ymin", "xmax", "ymax"))
            p0 = image.TransformIndexToPhysicalPoint((x0, y0, k))
            # the far corner of the last pixel: index + 1, so the box size counts whole pixels
            p1 = image.TransformContinuousIndexToPhysicalPoint((x1 + 1.0, y1 + 1.0, float(k)))
            boxes.append(TumourBox(k, y0, x0, y1, x1, row["label"], float(row["z_mm"]),
                                   tuple(p0), tuple(p1), row["sop_instance_uid"]))
    return sorted(boxes, key=lambda b: b.slice_index)


# --------------------------------------------------------------------------- head CT, X-ray
def load_head_ct(approx_hu: bool = True) -> sitk.Image:
    """The small head CT (64x64x93 voxels, 3.2x3.2x1.5 mm).

    Its raw values are uncalibrated CT numbers (air ~0, soft tissue ~1050). With
    ``approx_hu=True`` (default) 1024 is subtracted, which gives *approximate* HU.

    >>> load_head_ct().GetSize()
    (64, 64, 93)
    """
    if not isinstance(approx_hu, (bool, np.bool_)):
        raise TypeError(f"approx_hu must be True or False, got {type(approx_hu).__name__} {approx_hu!r}")
    path = verify("headsq_ct.nii.gz")
    try:
        image = sitk.ReadImage(str(path))
    except RuntimeError as e:
        raise DatasetError(f"cannot read {path}: {e}") from e
    if approx_hu:
        image = sitk.Cast(image, sitk.sitkInt16) - 1024
    return image


def load_chest_xray(name: str = "00000001_000") -> np.ndarray:
    """An adult chest X-ray as ``uint8 (512, 512)``. ``name`` is one of :data:`CHEST_XRAYS`.

    >>> load_chest_xray().shape
    (512, 512)
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a string, one of {sorted(CHEST_XRAYS)}; got {name!r}")
    stem = name[:-4] if name.endswith(".png") else name
    if stem not in CHEST_XRAYS:
        raise ValueError(f"name must be one of {sorted(CHEST_XRAYS)}, got {name!r}")
    path = verify(f"chest_xray/{stem}.png")
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            arr = np.asarray(im.convert("L"))
    except (UnidentifiedImageError, OSError) as e:
        raise DatasetError(f"cannot read {path}: {e}") from e
    return arr


# --------------------------------------------------------------------------- chestxray256
def load_chestxray256(split: str = "train") -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Paediatric chest X-rays at the source article's input size: ``(images, labels, subtype, patient)``.

    ``images`` uint8 (N, 256, 256); ``labels`` int64 (N,) 0 normal / 1 pneumonia; ``subtype`` int64 (N,)
    0 normal / 1 bacterial / 2 viral; ``patient`` str (N,). Splits: train 400, val 90, test 180, each 1:1
    normal:pneumonia, one image per patient and no patient in two splits. Two facts to keep in mind
    (datasets/README.md): the test split is *not* the official Kermany test split, and the images are
    sources of PneumoniaMNIST train/val images, so a model trained on PneumoniaMNIST must never be
    scored on this set. Used in 06 §6.

    >>> x, y, sub, pid = load_chestxray256("val")
    >>> x.shape, x.dtype, int(y.sum()), sorted(set(sub.tolist())), len(set(pid)) == len(pid)
    ((90, 256, 256), dtype('uint8'), 45, [0, 1, 2], True)
    """
    if not isinstance(split, str) or split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    rel = "chestxray256.npz"
    path = verify(rel)
    try:
        with np.load(path) as npz:
            images = np.asarray(npz[f"{split}_images"])
            labels = np.asarray(npz[f"{split}_labels"]).reshape(-1).astype(np.int64)
            subtype = np.asarray(npz[f"{split}_subtype"]).reshape(-1).astype(np.int64)
            patient = np.asarray(npz[f"{split}_patient"]).astype(str)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as e:
        raise DatasetError(f"cannot read {path}: {e}. " + _RESTORE.format(rel=rel)) from e
    return images, labels, subtype, patient


# --------------------------------------------------------------------------- TensorFlow
def as_tf_dataset(images: np.ndarray, labels: np.ndarray, batch_size: int = 64, shuffle: bool = True,
                  seed: int = 0, cache: bool = True, drop_remainder: bool = False) -> Any:
    """A normalised, seeded, cached, prefetched ``tf.data.Dataset`` of ``(image, label)`` batches.

    Images (N, H, W) or (N, H, W, C) of uint8 become float32 in [0, 1] with a channel axis (float images must
    already lie in [0, 1]); labels become float32 (N,). With the same ``seed`` the batches come in the same
    order. NaN/inf images or labels, a batch size outside 1..4096 and non-bool flags are refused before
    TensorFlow is imported.

    >>> x, y = load_breastmnist("val")
    >>> xb, yb = next(iter(as_tf_dataset(x, y, batch_size=8)))
    >>> tuple(xb.shape), tuple(yb.shape)
    ((8, 28, 28, 1), (8,))
    """
    from ._validate import check_array, check_bool, check_int, check_seed

    # every check before TensorFlow is imported: a bad argument costs no TF start-up
    images = check_array(images, "images", ndim=(3, 4), finite=True)
    labels = check_array(labels, "labels", finite=True).reshape(-1)
    if images.ndim == 4 and images.shape[-1] not in (1, 3):
        raise ValueError(f"images must have 1 or 3 channels on the last axis, got shape {images.shape}")
    if len(images) != len(labels):
        raise ValueError(f"images and labels differ in length: {len(images)} vs {len(labels)}")
    batch_size = check_int(batch_size, "batch_size", low=1, high=4096, why_high="memory per step")
    for name, v in (("shuffle", shuffle), ("cache", cache), ("drop_remainder", drop_remainder)):
        check_bool(v, name)
    seed = check_seed(seed)
    if images.dtype != np.uint8 and images.dtype != bool and (images.min() < 0 or images.max() > 1):
        raise ValueError(f"images of dtype {images.dtype} must already be scaled to [0, 1] (uint8 is divided by "
                         f"255), got values from {float(images.min()):.3g} to {float(images.max()):.3g}; "
                         "normalise them first (e.g. medlab.preprocess.normalise)")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    if images.ndim == 3:
        images = images[..., None]
    scale = 255.0 if images.dtype == np.uint8 else 1.0
    x = images.astype(np.float32) / np.float32(scale)
    ds = tf.data.Dataset.from_tensor_slices((x, labels.astype(np.float32)))
    if cache:
        ds = ds.cache()
    if shuffle:
        ds = ds.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    return ds.batch(batch_size, drop_remainder=drop_remainder).prefetch(tf.data.AUTOTUNE)


# Teaching samples (cached, read-only cut-outs shared by notebooks and widgets) live in medlab.samples.
from .samples import *  # noqa: E402,F401,F403
