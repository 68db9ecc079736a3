from edgemnist.bench.cpuflags import cpu_flags


def test_x86_vnni(tmp_path):
    p = tmp_path / "cpuinfo"
    p.write_text(
        "processor\t: 0\nmodel name\t: Intel(R) Xeon(R) Processor\n"
        "flags\t\t: fpu avx2 avx512f avx512_vnni avx_vnni\n"
    )
    got = cpu_flags(p)
    assert got["model"] == "Intel(R) Xeon(R) Processor"
    assert got["notable"] == ["avx2", "avx512f", "avx512_vnni", "avx_vnni"]
    assert got["int8_dot_product"] and "fpu" in got["all"]


def test_arm_without_sdot_and_missing_file(tmp_path):
    p = tmp_path / "cpuinfo"
    p.write_text("processor\t: 0\nFeatures\t: fp asimd evtstrm crc32\nModel\t: Raspberry Pi 4\n")
    got = cpu_flags(p)
    assert got["notable"] == ["asimd"] and not got["int8_dot_product"]
    assert cpu_flags(tmp_path / "absent")["all"] == []
