"""Real TI2V backbones through diffusers, one adapter file per family.

=====================  ===============================================  ==========================
generator name         module                                           diffusers pipeline
=====================  ===============================================  ==========================
``wan2.1-i2v``         :mod:`spiral.generators.diffusers.wan21_i2v`       WanImageToVideoPipeline
``wan2.2-i2v-a14b``    :mod:`spiral.generators.diffusers.wan22_i2v_a14b`  WanImageToVideoPipeline
``wan2.2-ti2v-5b``     :mod:`spiral.generators.diffusers.wan22_ti2v_5b`   WanImageToVideoPipeline
``cogvideox-i2v``      :mod:`spiral.generators.diffusers.cogvideox_i2v`   CogVideoXImageToVideoPipeline
``ltx-video-i2v``      :mod:`spiral.generators.diffusers.ltx_video_i2v`   LTXImageToVideoPipeline
``hunyuanvideo-i2v``   :mod:`spiral.generators.diffusers.hunyuanvideo_i2v` HunyuanVideoImageToVideoPipeline
``svd``                :mod:`spiral.generators.diffusers.svd`             StableVideoDiffusionPipeline
=====================  ===============================================  ==========================

Shared machinery (config, checks, pipeline cache, prompt-embedding cache, batching) is in
:mod:`.base`; tiny random-weight components for tests in :mod:`.testing`. Importing this
package imports neither torch nor diffusers: the adapters import them when they load.
"""

#: generator name -> "module:Class", as registered in spiral.registry
ADAPTERS = {
    "wan2.1-i2v": "spiral.generators.diffusers.wan21_i2v:Wan21I2VGenerator",
    "wan2.2-i2v-a14b": "spiral.generators.diffusers.wan22_i2v_a14b:Wan22I2VA14BGenerator",
    "wan2.2-ti2v-5b": "spiral.generators.diffusers.wan22_ti2v_5b:Wan22TI2V5BGenerator",
    "cogvideox-i2v": "spiral.generators.diffusers.cogvideox_i2v:CogVideoXI2VGenerator",
    "ltx-video-i2v": "spiral.generators.diffusers.ltx_video_i2v:LTXVideoI2VGenerator",
    "hunyuanvideo-i2v": "spiral.generators.diffusers.hunyuanvideo_i2v:HunyuanVideoI2VGenerator",
    "svd": "spiral.generators.diffusers.svd:SVDGenerator",
}
