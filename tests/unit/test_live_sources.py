"""Source URIs, options, the exact CSI / Picamera2 configurations, and file / folder sources on
real files (an MJPG .avi written by OpenCV, PNGs, a garbage image)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from edgemnist.errors import ConfigError
from edgemnist.live import gst
from edgemnist.live.sources import (
    SOURCES,
    CsiSource,
    GstSource,
    ImageFolderSource,
    PicamSource,
    SourceError,
    V4l2Source,
    VideoFileSource,
    check_device,
    fourcc_to_str,
    make_source,
    mask_url,
    parse_uri,
    picamera2_config,
    source_class,
)

cv2 = pytest.importorskip("cv2")


# -- URIs ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "uri, kind, target",
    [
        ("0", "v4l2", "0"),
        ("/dev/video2", "v4l2", "/dev/video2"),
        ("v4l2:///dev/v4l/by-id/usb-Cam-index0", "v4l2", "/dev/v4l/by-id/usb-Cam-index0"),
        ("csi://1", "csi", "1"),
        ("picam://0", "picam", "0"),
        ("rtsp://user:pw@cam.local:8554/live?x=1", "stream", "rtsp://user:pw@cam.local:8554/live?x=1"),
        ("http://10.0.0.2:8080/video.mjpg", "stream", "http://10.0.0.2:8080/video.mjpg"),
        ("https://host/stream", "stream", "https://host/stream"),
        ("gst://videotestsrc ! video/x-raw,width=64", "gst", "videotestsrc ! video/x-raw,width=64"),
        ("synthetic://?digits=1-4&fps=30&seed=0", "synthetic", "digits=1-4&fps=30&seed=0"),
        ("synthetic://", "synthetic", ""),
        ("photos/*.png", "images", "photos/*.png"),
        ("scan.png", "images", "scan.png"),
    ],
)  # fmt: skip
def test_parse_uri_by_the_table(uri, kind, target):
    parsed = parse_uri(uri)
    assert (parsed.kind.name, parsed.target) == (kind, target)


def test_parse_uri_files_and_folders(tmp_path):
    clip = tmp_path / "clip.avi"
    clip.write_bytes(b"x")
    assert parse_uri(str(clip)).kind.name == "video"
    assert parse_uri(f"file://{clip}").kind.name == "video"
    assert parse_uri(f"file://{clip}").target == str(clip)
    assert parse_uri(str(tmp_path)).kind.name == "images"
    assert parse_uri(f"file://{tmp_path}?loop=1").kind.name == "images"
    assert parse_uri(f"file://{tmp_path}?loop=1").options == {"loop": "1"}


def test_query_options_and_overrides():
    parsed = parse_uri("csi://0?flip=rotate-180&width=640&height=480")
    assert parsed.options == {"flip": "rotate-180", "width": "640", "height": "480"}
    src = make_source("csi://0?flip=rotate-180&width=640", width=800, height=None)
    assert isinstance(src, CsiSource)
    assert (src.width, src.height, src.flip.name) == (800, 720, "rotate-180")


@pytest.mark.parametrize("uri", ["foo://bar", "ftp://host/x.mp4", ""])
def test_unsupported_scheme_lists_the_supported_ones(uri):
    with pytest.raises(ConfigError) as err:
        parse_uri(uri)
    msg = str(err.value)
    for row in SOURCES:
        assert row.name in msg
    assert "csi://0" in msg and "synthetic://" in msg and "\n" not in msg


def test_missing_path_is_an_error_not_a_guess(tmp_path):
    with pytest.raises(ConfigError, match="no such file or folder"):
        parse_uri(str(tmp_path / "nope.mp4"))


@pytest.mark.parametrize(
    "options, match",
    [
        ({"colour": "red"}, "unknown source option 'colour'"),
        ({"width": "wide"}, "width="),
        ({"width": 0}, "must be > 0"),
        ({"fps": -1}, "fps="),
        ({"flip": "sideways"}, "rotate-180"),
        ({"fourcc": "MJPEG"}, "4 characters"),
        ({"loop": "maybe"}, "loop="),
        ({"gst_backend": "vaapi"}, "auto, child or opencv"),
    ],
)
def test_bad_options_name_the_option(options, match):
    with pytest.raises(ConfigError, match=match):
        make_source("csi://0", **options)


def test_csi_target_must_be_a_number():
    with pytest.raises(ConfigError, match="sensor id"):
        make_source("csi://front")


# -- the exact commands and configurations ---------------------------------------------------
def test_csi_pipeline_and_command_exactly():
    src = make_source("csi://1", width=1280, height=720, fps=30, flip="rotate-180")
    assert src.pipeline() == (
        "nvarguscamerasrc sensor-id=1 ! "
        "video/x-raw(memory:NVMM),width=1280,height=720,framerate=30/1,format=NV12 ! "
        "nvvidconv flip-method=2 ! video/x-raw,width=1280,height=720,format=BGRx ! "
        "videoconvert ! video/x-raw,format=BGR"
    )
    argv = gst.launch_argv(src.pipeline())
    assert argv == [
        "gst-launch-1.0", "-q", "nvarguscamerasrc", "sensor-id=1", "!",
        "video/x-raw(memory:NVMM),width=1280,height=720,framerate=30/1,format=NV12", "!",
        "nvvidconv", "flip-method=2", "!", "video/x-raw,width=1280,height=720,format=BGRx", "!",
        "videoconvert", "!", "video/x-raw,format=BGR", "!", "fdsink", "fd=1", "sync=false",
    ]  # fmt: skip
    assert gst.appsink_pipeline(src.pipeline()).endswith(
        "video/x-raw,format=BGR ! appsink drop=true max-buffers=1 sync=false"
    )


def test_csi_defaults():
    src = make_source("csi://0")
    assert (src.width, src.height, src.fps, src.live) == (1280, 720, 30.0, True)
    assert "flip-method=0" in src.pipeline() and "sensor-id=0" in src.pipeline()


@pytest.mark.parametrize(
    "name, number",
    [
        ("none", 0), ("counterclockwise", 1), ("rotate-180", 2), ("clockwise", 3),
        ("horizontal-flip", 4), ("upper-right-diagonal", 5), ("vertical-flip", 6),
        ("upper-left-diagonal", 7), ("horizontal", 4), ("vertical", 6), ("180", 2),
    ],
)  # fmt: skip
def test_flip_method_numbers_follow_nvvidconv(name, number):
    assert gst.lookup_flip(name).nvvidconv == number
    assert f"flip-method={number} " in gst.csi_pipeline(flip=name)


def test_custom_pipeline_tail():
    src = make_source("gst://v4l2src device=/dev/video1 ! image/jpeg ! jpegdec", width=320,
                      height=240, fps=15, flip="vertical")  # fmt: skip
    assert src.live  # starts with a camera element: end of stream means reopen
    assert src.pipeline() == (
        "v4l2src device=/dev/video1 ! image/jpeg ! jpegdec ! videoflip video-direction=vert ! "
        "videoconvert ! videoscale ! videorate ! "
        "video/x-raw,format=BGR,width=320,height=240,framerate=15/1"
    )
    plain = make_source("gst://videotestsrc")
    assert not plain.live
    assert plain.pipeline().endswith("videoscale ! video/x-raw,format=BGR,width=640,height=480")
    assert make_source("gst://videotestsrc", live=True).live
    assert make_source("gst://videotestsrc is-live=true ! video/x-raw").live
    with pytest.raises(SourceError, match="needs a pipeline"):
        make_source("gst://").pipeline()


def test_realtime_file_pipelines_sync_to_the_clock():
    assert gst.launch_argv("videotestsrc", "gst", sync=True)[-1] == "sync=true"
    assert gst.launch_argv("videotestsrc", "gst")[-1] == "sync=false"


def test_quoted_properties_survive_the_argv_split():
    argv = gst.launch_argv('filesrc location="/tmp/my clip.mp4" ! decodebin')
    assert "location=/tmp/my clip.mp4" in argv


def test_route_choice():
    assert make_source("gst://videotestsrc", gst_backend="child").route() == "child"
    assert make_source("gst://videotestsrc", gst_backend="opencv").route() == "opencv"
    auto = "opencv" if gst.opencv_has_gstreamer() else "child"
    assert make_source("gst://videotestsrc").route() == auto


def test_picamera2_configuration_exactly():
    assert picamera2_config(640, 480, 30, "none") == {
        "main": {"size": (640, 480), "format": "RGB888"},
        "controls": {"FrameRate": 30.0},
        "transform": {"hflip": 0, "vflip": 0},
    }
    assert picamera2_config(1280, 720, 15, "rotate-180")["transform"] == {"hflip": 1, "vflip": 1}
    assert picamera2_config(640, 480, 30, "horizontal")["transform"] == {"hflip": 1, "vflip": 0}
    assert picamera2_config(640, 480, 30, "vertical-flip")["transform"] == {"hflip": 0, "vflip": 1}
    # a 90-degree turn is not a libcamera transform: done in software after capture
    assert picamera2_config(640, 480, 30, "clockwise")["transform"] == {"hflip": 0, "vflip": 0}


def test_picam_without_picamera2_explains_apt_and_the_venv():
    try:
        import picamera2  # noqa: F401

        pytest.skip("picamera2 is installed here")
    except ImportError:
        pass
    ok, why = PicamSource.available()
    assert not ok and "python3-picamera2" in why
    with pytest.raises(SourceError) as err:
        make_source("picam://0").open()
    msg = str(err.value)
    assert "sudo apt install python3-picamera2" in msg and "--system-site-packages" in msg


# -- small helpers ---------------------------------------------------------------------------
def test_fourcc_and_masked_urls():
    assert fourcc_to_str(cv2.VideoWriter_fourcc(*"MJPG")) == "MJPG"
    assert fourcc_to_str(0) == ""
    assert mask_url("rtsp://admin:secret@cam:554/s") == "rtsp://admin:***@cam:554/s"
    assert mask_url("http://cam/video") == "http://cam/video"
    assert (
        mask_url("rtspsrc location=rtsp://a:b@c/d ! x") == "rtspsrc location=rtsp://a:***@c/d ! x"
    )
    assert mask_url("/dev/video0") == "/dev/video0"
    src = make_source("gst://rtspsrc location=rtsp://admin:hunter2@cam/s ! decodebin")
    assert "hunter2" not in str(src.describe()) and "hunter2" not in repr(src) and src.live


def test_flips_match_opencv():
    a = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    f = {row.name: gst.apply_flip(a, row) for row in gst.FLIPS}
    assert np.array_equal(f["clockwise"], cv2.rotate(a, cv2.ROTATE_90_CLOCKWISE))
    assert np.array_equal(f["counterclockwise"], cv2.rotate(a, cv2.ROTATE_90_COUNTERCLOCKWISE))
    assert np.array_equal(f["rotate-180"], cv2.rotate(a, cv2.ROTATE_180))
    assert np.array_equal(f["horizontal-flip"], cv2.flip(a, 1))
    assert np.array_equal(f["vertical-flip"], cv2.flip(a, 0))
    assert np.array_equal(f["upper-left-diagonal"], cv2.transpose(a))
    assert np.array_equal(f["upper-right-diagonal"], cv2.rotate(cv2.transpose(a), cv2.ROTATE_180))
    assert all(v.flags["C_CONTIGUOUS"] for v in f.values())


def test_bgr_rows_are_padded_to_four_bytes():
    assert gst.bgr_stride(320) == 960 and gst.bgr_stride(322) == 968
    assert gst.frame_bytes(322, 10) == 9680


def test_gst_failures_explained():
    jetson = gst.explain_failure('WARNING: erroneous pipeline: no element "nvarguscamerasrc"', 1)
    assert "only on a Jetson" in jetson and "/dev/video0" in jetson
    other = gst.explain_failure('WARNING: erroneous pipeline: no element "x264enc"', 1)
    assert "gst-inspect-1.0 x264enc" in other
    generic = gst.explain_failure(
        "ERROR: from element /GstPipeline:pipeline0/GstFileSrc:filesrc0: Resource not found.\n"
        "Additional debug info:\n"
        "../plugins/elements/gstfilesrc.c(553): gst_file_src_start (): "
        "/GstPipeline:pipeline0/GstFileSrc:filesrc0:\n"
        'No such file "/x.mp4"\n'
        "ERROR: pipeline doesn't want to preroll.\n",
        1,
    )
    assert generic.startswith("GStreamer pipeline exited with code 1: filesrc0: Resource not")
    assert 'Resource not found (No such file "/x.mp4")' in generic
    assert "killed by signal 9 (SIGKILL)" in gst.explain_failure("", -9)
    assert "no message" in gst.explain_failure("", 3)


# -- device checks ---------------------------------------------------------------------------
def test_missing_camera_device(tmp_path):
    with pytest.raises(SourceError, match="no camera at /dev/video99"):
        make_source("/dev/video99").open()
    with pytest.raises(SourceError, match="no camera at"):
        check_device(str(tmp_path / "video7"))


@pytest.mark.skipif(os.geteuid() == 0, reason="root can open any device node")
def test_permission_denied_names_the_video_group(tmp_path):
    node = tmp_path / "video0"
    node.write_bytes(b"")
    node.chmod(0)
    with pytest.raises(SourceError, match="video group"):
        check_device(str(node))


def test_not_a_camera(tmp_path):
    node = tmp_path / "video0"
    node.write_bytes(b"not a device")
    with pytest.raises(SourceError, match="busy .* or not a capture device"):
        V4l2Source(str(node)).open()


def test_unreachable_stream_fails_with_a_clear_message():
    # port 9 on localhost: nothing listens, the connection is refused at once
    with pytest.raises(SourceError, match="cannot open stream rtsp://u:\\*\\*\\*@127.0.0.1:9/x"):
        make_source("rtsp://u:pw@127.0.0.1:9/x").open()


# -- real files ------------------------------------------------------------------------------
def _write_avi(path: Path, frames: int, size=(64, 48), fps=25.0) -> None:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, size)
    assert writer.isOpened()
    for i in range(frames):
        writer.write(np.full((size[1], size[0], 3), 10 + 20 * i, np.uint8))
    writer.release()


def test_video_file_source_reads_every_frame_and_ends(tmp_path):
    clip = tmp_path / "clip.avi"
    _write_avi(clip, 8)
    with make_source(str(clip)) as src:
        assert isinstance(src, VideoFileSource) and not src.live
        frames = []
        while (f := src.read()) is not None:
            frames.append(f)
        assert src.ended and src.read() is None
        d = src.describe()
    assert [f.index for f in frames] == list(range(8))
    assert frames[0].image.shape == (48, 64, 3)
    # MJPG is lossy, but the fill levels stay in order
    means = [float(f.image.mean()) for f in frames]
    assert means == sorted(means) and means[-1] - means[0] > 100
    assert all(b.t_capture >= a.t_capture for a, b in zip(frames, frames[1:]))
    assert d["width"] == 64 and d["height"] == 48 and d["fps"] == 25.0
    assert d["pixel_format"] == "MJPG" and d["frames"] == 8 and d["kind"] == "video"


def test_video_file_loop_rewinds(tmp_path):
    clip = tmp_path / "clip.avi"
    _write_avi(clip, 3)
    with make_source(str(clip), loop=True, flip="rotate-180") as src:
        frames = [src.read() for _ in range(7)]
    assert all(f is not None for f in frames) and not src.ended
    assert [round(float(f.image.mean()) / 10) for f in frames[:4]] == [1, 3, 5, 1]
    assert frames[-1].index == 6


def test_video_file_that_is_not_a_video(tmp_path):
    bad = tmp_path / "clip.mp4"
    bad.write_bytes(os.urandom(2000))
    with pytest.raises(SourceError, match="cannot decode"):
        make_source(str(bad)).open()


def test_image_folder_sorted_with_unreadable_skipped(tmp_path):
    for i, name in enumerate(["b.png", "a.png", "c.jpg"]):
        cv2.imwrite(str(tmp_path / name), np.full((20, 30, 3), 50 * (i + 1), np.uint8))
    (tmp_path / "broken.png").write_bytes(b"\x89PNG not really")
    (tmp_path / "notes.txt").write_text("not an image")
    with make_source(str(tmp_path)) as src:
        assert isinstance(src, ImageFolderSource)
        frames = []
        while (f := src.read()) is not None:
            frames.append(f)
    assert [int(f.image[0, 0, 0]) for f in frames] == [100, 50, 150]  # a, b, c
    assert src.skipped == 1 and src.describe()["skipped"] == 1 and src.ended
    with make_source(str(tmp_path / "*.png")) as src:
        assert src.describe()["images"] == 3  # a, b, broken
        got = [src.read() for _ in range(3)]
    assert got[2] is None and src.skipped == 1


def test_image_folder_loop_and_all_unreadable(tmp_path):
    cv2.imwrite(str(tmp_path / "one.png"), np.zeros((8, 8, 3), np.uint8))
    with make_source(str(tmp_path), realtime=True) as src:  # images have no rate: 30 fps
        assert src.fps == 30.0 and src.describe()["fps"] == 30.0
    with make_source(str(tmp_path), realtime=True, fps=2) as src:
        assert src.fps == 2.0
    with make_source(str(tmp_path), loop=True) as src:
        assert [src.read().index for _ in range(5)] == [0, 1, 2, 3, 4]
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "x.png").write_bytes(b"junk")
    with make_source(str(bad), loop=True) as src:  # must end, not spin forever
        assert src.read() is None and src.ended and src.skipped == 1
    with pytest.raises(SourceError, match="no images in"):
        make_source(str(tmp_path / "nothing*.png")).open()


def test_read_before_open_and_context_manager(tmp_path):
    cv2.imwrite(str(tmp_path / "one.png"), np.zeros((8, 8, 3), np.uint8))
    src = make_source(str(tmp_path))
    with pytest.raises(SourceError, match="call open"):
        src.read()
    with src:
        assert src.opened
    assert not src.opened
    src.close()  # twice is fine


def test_available_never_raises():
    for row in SOURCES:
        ok, why = source_class(row).available()
        assert isinstance(ok, bool) and isinstance(why, str)
    assert GstSource.available()[0] == bool(gst.gst_launch_path() or gst.opencv_has_gstreamer())
