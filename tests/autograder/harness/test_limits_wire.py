"""Every limit of the wire format (autograder.harness.wire) at the limit and one past it.

Nesting depth, array dimensions, dtype kinds and item sizes, the array data's length against its
shape and the fields of an encoded array, dtype and tuple: each test builds the input exactly at
the cap (it crosses) and one unit past it (it is refused), so loosening or tightening a cap by
one, or by a factor, fails a test.
"""

from __future__ import annotations

import base64
import json
import math

import numpy as np
import pytest

from autograder.harness import wire

DEPTH = 32  # the documented cap, written out so that a changed cap fails the tests


def nested(levels: int, leaf=0, wrap=list):
    """``leaf`` inside ``levels`` containers made by ``wrap`` (``[[0]]`` for 2 lists)."""
    value = leaf
    for _ in range(levels):
        value = wrap([value])
    return value


def as_dict(items: list) -> dict:
    return {"k": items[0]}


def array_line(dtype: str, shape, data: bytes | str | None, scalar=False) -> str:
    text = data if isinstance(data, str | None) else base64.b64encode(data).decode()
    fields = {"dtype": dtype, "shape": shape, "data": text, "scalar": scalar}
    return json.dumps({wire.ARRAY_KEY: fields})


# ------------------------------------------------------------------ nesting depth


@pytest.mark.parametrize("wrap", [list, tuple, as_dict])
def test_values_nested_max_depth_deep_cross_and_one_more_is_refused(wrap):
    assert wire.MAX_DEPTH == DEPTH
    at_limit = nested(DEPTH, 7, wrap)
    assert wire.loads(wire.dumps(at_limit)) == at_limit
    with pytest.raises(wire.WireError, match="^nested too deeply$"):
        wire.dumps(nested(DEPTH + 1, 7, wrap))


def test_a_line_nested_max_depth_deep_is_read_and_one_more_is_refused():
    assert wire.loads(json.dumps(nested(DEPTH))) == nested(DEPTH)
    with pytest.raises(wire.WireError, match="^nested too deeply$"):
        wire.loads(json.dumps(nested(DEPTH + 1)))
    # a tuple's items are one level down, like a list's (its wrapper dict is not a level)
    line = json.dumps(nested(DEPTH, 7, lambda v: {wire.TUPLE_KEY: v}))
    assert wire.loads(line) == nested(DEPTH, 7, tuple)
    deeper = json.dumps(nested(DEPTH + 1, 7, lambda v: {wire.TUPLE_KEY: v}))
    with pytest.raises(wire.WireError, match="^nested too deeply$"):
        wire.loads(deeper)
    with pytest.raises(wire.WireError, match="^nested too deeply$"):
        wire.loads(json.dumps(nested(DEPTH + 1, 7, as_dict)))


def test_an_array_at_max_depth_crosses_like_any_other_leaf():
    value = nested(DEPTH - 1, np.arange(3.0))
    back = wire.loads(wire.dumps(value))
    leaf = back
    for _ in range(DEPTH - 1):
        (leaf,) = leaf
    assert type(leaf) is np.ndarray and leaf.tolist() == [0.0, 1.0, 2.0]


def test_arrays_of_max_depth_dimensions_cross_and_one_more_is_refused():
    at_limit = np.arange(2.0).reshape((2,) + (1,) * (DEPTH - 1))
    back = wire.loads(wire.dumps(at_limit))
    assert back.shape == at_limit.shape and back.ravel().tolist() == [0.0, 1.0]
    past = np.zeros((1,) * (DEPTH + 1))
    with pytest.raises(wire.WireError, match=rf"33 dimensions .*\(at most {DEPTH}\)"):
        wire.dumps(past)
    line = array_line("<f8", [1] * DEPTH, np.zeros(1).tobytes())
    assert wire.loads(line).shape == (1,) * DEPTH
    line = array_line("<f8", [1] * (DEPTH + 1), np.zeros(1).tobytes())
    with pytest.raises(wire.WireError, match="^too many array dimensions$"):
        wire.loads(line)


# ------------------------------------------------------------------ dtypes


ALLOWED = ["?", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "f2", "f4", "f8", "c8", "c16"]
REFUSED = ["O", "S3", "U3", "V8", "M8[s]", "m8[s]", [("a", "f8")]]


@pytest.mark.parametrize("dtype", ALLOWED + ["g"])
def test_every_numeric_kind_up_to_16_bytes_crosses_as_array_scalar_and_dtype(dtype):
    dtype = np.dtype(dtype)
    assert dtype.itemsize <= 16
    array = np.arange(3).astype(dtype)
    back = wire.loads(wire.dumps(array))
    assert back.dtype == dtype and back.tolist() == array.tolist()
    scalar = wire.loads(wire.dumps(array[1]))
    assert type(scalar) is dtype.type and scalar == array[1]
    assert wire.loads(wire.dumps(dtype)) == dtype
    assert wire.loads(wire.dumps(dtype.type)) is dtype.type


@pytest.mark.parametrize("dtype", REFUSED + ["G"])
def test_every_other_kind_and_any_wider_dtype_is_refused_both_ways(dtype):
    dtype = np.dtype(dtype)
    with pytest.raises(wire.WireError, match="may not cross the channel"):
        wire.dumps(np.zeros(1, dtype=dtype))
    with pytest.raises(wire.WireError, match="may not cross the channel"):
        wire.dumps(dtype)
    line = array_line(dtype.str, [1], bytes(dtype.itemsize))
    with pytest.raises(wire.WireError, match="may not cross the channel"):
        wire.loads(line)
    with pytest.raises(wire.WireError, match="may not cross the channel"):
        wire.loads(json.dumps({wire.DTYPE_KEY: [dtype.str, True]}))


def test_the_item_size_cap_is_the_widest_complex128():
    # clongdouble (32 bytes here) is the only numeric dtype wider than the cap of 16 bytes
    assert np.dtype("c16").itemsize == wire.MAX_ITEMSIZE == 16
    assert np.dtype("G").itemsize == 32
    with pytest.raises(wire.WireError, match="clongdouble|complex256"):
        wire.dumps(np.clongdouble(1))


def test_an_unknown_dtype_name_is_refused_by_name():
    with pytest.raises(wire.WireError, match="unknown dtype 'float99'"):
        wire.loads(array_line("float99", [1], bytes(8)))
    with pytest.raises(wire.WireError, match="unknown dtype"):
        wire.loads(json.dumps({wire.DTYPE_KEY: [[1, 2], True]}))


# ------------------------------------------------------------------ data against shape


@pytest.mark.parametrize(
    ("dtype", "shape"), [("<f8", [3]), ("<i2", [2, 3]), ("|u1", []), ("<c16", [0])]
)
def test_array_data_of_exactly_the_shape_is_read_and_a_byte_more_or_less_is_refused(dtype, shape):
    itemsize = np.dtype(dtype).itemsize
    size = math.prod(shape) * itemsize
    array = wire.loads(array_line(dtype, shape, bytes(range(size))))
    assert array.shape == tuple(shape) and array.tobytes() == bytes(range(size))
    for wrong in (size + 1, size - 1):
        if wrong < 0:
            continue
        with pytest.raises(wire.WireError, match="^array data does not match its shape$"):
            wire.loads(array_line(dtype, shape, bytes(wrong)))


def test_a_huge_shape_with_little_data_is_refused_without_allocating():
    with pytest.raises(wire.WireError, match="^array data does not match its shape$"):
        wire.loads(array_line("<f8", [2**40, 2**40], b""))


@pytest.mark.parametrize(
    ("shape", "ok"),
    [([0], True), ([0, 5], True), ([-1], False), ([True], False), ([1.0], False), (3, False)],
)
def test_shape_entries_are_non_negative_ints_only(shape, ok):
    line = array_line("<f8", shape, b"")
    if ok:
        assert wire.loads(line).shape == tuple(shape)
    else:
        with pytest.raises(wire.WireError, match="^malformed array shape$"):
            wire.loads(line)


def test_array_data_must_be_strict_base64():
    # "!!" would decode to no bytes at all if it were decoded leniently
    with pytest.raises(wire.WireError, match="^malformed array data$"):
        wire.loads(array_line("<f8", [0], "!!"))
    with pytest.raises(wire.WireError, match="^malformed array data$"):
        wire.loads(array_line("<f8", [1], "AAAA AAAAAAA="))
    with pytest.raises(wire.WireError, match="^malformed array data$"):
        wire.loads(array_line("<f8", [1], None))


@pytest.mark.parametrize(
    "fields",
    [
        {"dtype": "<f8", "shape": [], "data": "AAAAAAAAAAA="},
        {"dtype": "<f8", "shape": [], "data": "AAAAAAAAAAA=", "scalar": False, "x": 1},
        ["<f8", [], "AAAAAAAAAAA=", False],
    ],
)
def test_an_array_needs_exactly_its_four_fields(fields):
    with pytest.raises(wire.WireError, match="^malformed array$"):
        wire.loads(json.dumps({wire.ARRAY_KEY: fields}))


def test_only_a_zero_dimensional_array_marked_true_becomes_a_scalar():
    zero = base64.b64encode(bytes(8)).decode()
    assert type(wire.loads(array_line("<f8", [], zero, True))) is np.float64
    for shape, scalar in (([], False), ([], 1), ([], "true"), ([1], True)):
        back = wire.loads(array_line("<f8", shape, zero, scalar))
        assert type(back) is np.ndarray and back.shape == tuple(shape)


def test_an_encoded_array_holds_its_dtype_shape_bytes_and_kind():
    encoded = json.loads(wire.dumps(np.array([1.5, -2.0], dtype=">f4")))
    assert encoded == {
        wire.ARRAY_KEY: {
            "dtype": ">f4",
            "shape": [2],
            "data": base64.b64encode(np.array([1.5, -2.0], dtype=">f4").tobytes()).decode(),
            "scalar": False,
        }
    }
    assert json.loads(wire.dumps(np.float32(1)))[wire.ARRAY_KEY]["scalar"] is True
    transposed = np.arange(6.0).reshape(2, 3).T  # not contiguous: sent in C order
    assert wire.loads(wire.dumps(transposed)).tolist() == transposed.tolist()


# ------------------------------------------------------------------ the other wrappers


def test_dumps_writes_compact_json_on_one_line():
    assert wire.dumps({"a": [1, 2.5, None, True]}) == '{"a":[1,2.5,null,true]}'
    assert wire.dumps([math.inf, -math.inf]) == "[Infinity,-Infinity]"
    assert wire.dumps("\n") == '"\\n"'
    assert wire.dumps((1,)) == '{"__tuple__":[1]}'
    assert wire.dumps(np.float64) == '{"__dtype__":["float64",false]}'
    assert wire.dumps(np.dtype("int8")) == '{"__dtype__":["int8",true]}'


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({wire.DTYPE_KEY: ["float32", True]}, np.dtype("float32")),
        ({wire.DTYPE_KEY: ["float32", False]}, np.float32),
        ({wire.DTYPE_KEY: ["float32", 1]}, np.float32),  # only true itself means "a dtype"
    ],
)
def test_a_dtype_marker_is_a_dtype_only_when_marked_true(raw, expected):
    back = wire.loads(json.dumps(raw))
    assert back == expected and type(back) is type(expected)


@pytest.mark.parametrize(
    "raw",
    [
        {wire.DTYPE_KEY: ["float32"]},
        {wire.DTYPE_KEY: ["float32", True, 1]},
        {wire.DTYPE_KEY: "float32"},
        {wire.DTYPE_KEY: ["float32", True], "x": 1},
        {wire.TUPLE_KEY: "ab"},
        {wire.TUPLE_KEY: [1], "x": 1},
    ],
)
def test_a_marker_that_is_not_exactly_one_is_read_as_a_plain_dict(raw):
    assert wire.loads(json.dumps(raw)) == raw


@pytest.mark.parametrize(
    "value",
    [np.zeros(2).view(np.matrix), np.ma.zeros(2), float, bytes(2), {("a",): 1}, {1, 2}],
)
def test_only_exact_plain_types_cross(value):
    with pytest.raises(wire.WireError, match="cannot cross the channel"):
        wire.dumps(value)


def test_subclasses_of_plain_types_are_refused_by_name():
    class Text(str):
        pass

    for value in (Text("a"), type("L", (list,), {})(), type("D", (dict,), {})()):
        with pytest.raises(wire.WireError, match=f"a {type(value).__name__} cannot cross"):
            wire.dumps(value)


def test_json_that_is_not_valid_says_so():
    for line in (b"", b"{", b"\xff", "[" * 100_000):
        with pytest.raises(wire.WireError, match="not valid JSON"):
            wire.loads(line)


def test_a_value_json_cannot_produce_is_refused_by_the_decoder():
    with pytest.raises(wire.WireError, match="unexpected JSON value of type bytes"):
        wire._decode(b"x", 0)


# ------------------------------------------------------------------ the plan both sides follow


def test_run_order_places_each_request_after_its_cell_and_unplaced_ones_last():
    order = wire.run_order([1, 2, 4], [0, 2, 3, None, 4], skip={1})
    assert order == [
        ("request", 0),
        ("cell", 1),
        ("cell", 2),
        ("request", 2),
        ("cell", 4),
        ("request", 4),
        ("request", 3),
    ]


def test_run_order_keeps_requests_at_one_position_in_their_order_and_skips_none_by_default():
    assert wire.run_order([5], [5, 4, 5, 4]) == [
        ("request", 1),
        ("request", 3),
        ("cell", 5),
        ("request", 0),
        ("request", 2),
    ]
    assert wire.run_order([], [None, 0]) == [("request", 1), ("request", 0)]
    assert wire.run_order([1, 2], []) == [("cell", 1), ("cell", 2)]
