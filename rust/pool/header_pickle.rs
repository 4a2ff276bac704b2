//! Reading a frame header without serde-pickle's buffers.
//!
//! Headers are pickles that serde-pickle writes ([`super::frame::encode_header`]),
//! and serde-pickle reads them back. But its reader allocates about 20 KB
//! per call (a read buffer, a value stack, and another stack at every
//! `MARK`), which cost a link thread as much as the rest of a frame: every
//! tell paid for a heap consolidation. Two quicker readers come first:
//! [`hot_frame`] reads the frames of every message (`Tell`, `Ask`, `Reply`)
//! straight from the bytes serde-pickle writes for them, and [`parse`] reads
//! the few opcodes any header is made of into the same [`Value`] that
//! serde-pickle's reader builds. What neither knows (an opcode, a pickle
//! they find malformed) goes to serde-pickle, which reads it or says why
//! not. The wire format is unchanged.

use serde_pickle::{HashableValue, Value};

use super::frame::{Address, Frame, FutureId};

const MARK: u8 = b'(';
const STOP: u8 = b'.';
const BININT: u8 = b'J';
const BININT1: u8 = b'K';
const BININT2: u8 = b'M';
const NONE: u8 = b'N';
const BINUNICODE: u8 = b'X';
const SHORT_BINBYTES: u8 = b'C';
const BINBYTES: u8 = b'B';
const EMPTY_LIST: u8 = b']';
const APPEND: u8 = b'a';
const APPENDS: u8 = b'e';
const EMPTY_TUPLE: u8 = b')';
const TUPLE: u8 = b't';
const EMPTY_DICT: u8 = b'}';
const SETITEM: u8 = b's';
const SETITEMS: u8 = b'u';
const BINFLOAT: u8 = b'G';
const PROTO: u8 = 0x80;
const TUPLE1: u8 = 0x85;
const TUPLE2: u8 = 0x86;
const TUPLE3: u8 = 0x87;
const NEWTRUE: u8 = 0x88;
const NEWFALSE: u8 = 0x89;
const LONG1: u8 = 0x8a;

/// The `Tell`, `Ask` or `Reply` in `bytes`, if they are exactly what
/// serde-pickle writes for it with numbers that its reader takes (those
/// that fit an `i64`); `None` for any other header.
pub fn hot_frame(bytes: &[u8]) -> Option<Frame> {
    let mut reader = Reader { bytes, at: 0 };
    reader.expect(&[PROTO, 3, EMPTY_DICT])?;
    let variant = reader.string()?;
    reader.expect(&[EMPTY_DICT, MARK])?;
    reader.field("to")?;
    let frame = match variant {
        b"Tell" => Frame::Tell {
            to: reader.address()?,
        },
        b"Ask" => {
            let to = reader.address()?;
            reader.field("reply")?;
            Frame::Ask {
                to,
                reply: reader.future_id()?,
            }
        }
        b"Reply" => {
            let to = reader.future_id()?;
            reader.field("ok")?;
            let ok = match reader.byte()? {
                NEWTRUE => true,
                NEWFALSE => false,
                _ => return None,
            };
            Frame::Reply { to, ok }
        }
        _ => return None,
    };
    reader.expect(&[SETITEMS, SETITEM, STOP])?;
    (reader.at == bytes.len()).then_some(frame)
}

/// The value pickled in `bytes`, if it is made of the opcodes serde-pickle
/// writes for a header and is well formed; `None` leaves it to serde-pickle.
pub fn parse(bytes: &[u8]) -> Option<Value> {
    let mut reader = Reader { bytes, at: 0 };
    let mut stack: Vec<Value> = Vec::with_capacity(8);
    let mut marks: Vec<usize> = Vec::with_capacity(4);
    loop {
        let opcode = reader.byte()?;
        match opcode {
            PROTO => {
                reader.take(1)?;
            }
            MARK => marks.push(stack.len()),
            STOP => {
                let whole = reader.at == bytes.len() && marks.is_empty() && stack.len() == 1;
                return if whole { stack.pop() } else { None };
            }
            NONE => stack.push(Value::None),
            NEWTRUE => stack.push(Value::Bool(true)),
            NEWFALSE => stack.push(Value::Bool(false)),
            BININT => stack.push(Value::I64(i32::from_le_bytes(reader.array()?).into())),
            BININT1 => stack.push(Value::I64(reader.byte()?.into())),
            BININT2 => stack.push(Value::I64(u16::from_le_bytes(reader.array()?).into())),
            LONG1 => {
                let len = usize::from(reader.byte()?);
                stack.push(Value::I64(long(reader.take(len)?)?));
            }
            BINFLOAT => stack.push(Value::F64(f64::from_be_bytes(reader.array()?))),
            BINUNICODE => {
                let len = u32::from_le_bytes(reader.array()?) as usize;
                let text = std::str::from_utf8(reader.take(len)?).ok()?;
                stack.push(Value::String(text.to_owned()));
            }
            SHORT_BINBYTES => {
                let len = usize::from(reader.byte()?);
                stack.push(Value::Bytes(reader.take(len)?.to_vec()));
            }
            BINBYTES => {
                let len = u32::from_le_bytes(reader.array()?) as usize;
                stack.push(Value::Bytes(reader.take(len)?.to_vec()));
            }
            EMPTY_LIST => stack.push(Value::List(Vec::new())),
            EMPTY_TUPLE => stack.push(Value::Tuple(Vec::new())),
            EMPTY_DICT => stack.push(Value::Dict(std::collections::BTreeMap::new())),
            TUPLE1 | TUPLE2 | TUPLE3 => {
                let len = usize::from(opcode - TUPLE1 + 1);
                let items = stack.split_off(stack.len().checked_sub(len)?);
                stack.push(Value::Tuple(items));
            }
            TUPLE => {
                let items = stack.split_off(marks.pop()?);
                stack.push(Value::Tuple(items));
            }
            APPEND => {
                let item = stack.pop()?;
                let Value::List(list) = stack.last_mut()? else {
                    return None;
                };
                list.push(item);
            }
            APPENDS => {
                let items = stack.split_off(marks.pop()?);
                let Value::List(list) = stack.last_mut()? else {
                    return None;
                };
                list.extend(items);
            }
            SETITEM => {
                let value = stack.pop()?;
                let key = stack.pop()?.into_hashable().ok()?;
                insert(stack.last_mut()?, [(key, value)])?;
            }
            SETITEMS => {
                let items = stack.split_off(marks.pop()?);
                if items.len() % 2 != 0 {
                    return None;
                }
                let mut pairs = Vec::with_capacity(items.len() / 2);
                let mut items = items.into_iter();
                while let (Some(key), Some(value)) = (items.next(), items.next()) {
                    pairs.push((key.into_hashable().ok()?, value));
                }
                insert(stack.last_mut()?, pairs)?;
            }
            _ => return None,
        }
    }
}

/// Adds `pairs` to `target`, which must be a dict.
fn insert(
    target: &mut Value,
    pairs: impl IntoIterator<Item = (HashableValue, Value)>,
) -> Option<()> {
    let Value::Dict(dict) = target else {
        return None;
    };
    dict.extend(pairs);
    Some(())
}

/// A `LONG1` integer (little-endian two's complement) that fits an `i64`.
fn long(bytes: &[u8]) -> Option<i64> {
    if bytes.len() > 16 {
        return None;
    }
    let negative = bytes.last().is_some_and(|last| last & 0x80 != 0);
    let mut wide = [if negative { 0xff } else { 0 }; 16];
    wide[..bytes.len()].copy_from_slice(bytes);
    i64::try_from(i128::from_le_bytes(wide)).ok()
}

/// The bytes of a pickle, read from the front.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Option<u8> {
        let byte = *self.bytes.get(self.at)?;
        self.at += 1;
        Some(byte)
    }

    fn take(&mut self, len: usize) -> Option<&'a [u8]> {
        let end = self.at.checked_add(len)?;
        let taken = self.bytes.get(self.at..end)?;
        self.at = end;
        Some(taken)
    }

    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }

    /// Reads exactly `expected`.
    fn expect(&mut self, expected: &[u8]) -> Option<()> {
        (self.take(expected.len())? == expected).then_some(())
    }

    /// A `BINUNICODE` string's bytes.
    fn string(&mut self) -> Option<&'a [u8]> {
        self.expect(&[BINUNICODE])?;
        let len = u32::from_le_bytes(self.array()?) as usize;
        self.take(len)
    }

    /// The name `name`, as a field's key.
    fn field(&mut self, name: &str) -> Option<()> {
        (self.string()? == name.as_bytes()).then_some(())
    }

    /// A non-negative integer that fits an `i64`, as `BININT` or `LONG1`.
    fn number(&mut self) -> Option<u64> {
        let value = match self.byte()? {
            BININT => i32::from_le_bytes(self.array()?).into(),
            LONG1 => {
                let len = usize::from(self.byte()?);
                long(self.take(len)?)?
            }
            _ => return None,
        };
        u64::try_from(value).ok()
    }

    /// A structure of two numbers, `process` (a `u32`) and then `second`.
    fn process_and(&mut self, second: &str) -> Option<(u32, u64)> {
        self.expect(&[EMPTY_DICT, MARK])?;
        self.field("process")?;
        let process = u32::try_from(self.number()?).ok()?;
        self.field(second)?;
        let number = self.number()?;
        self.expect(&[SETITEMS])?;
        Some((process, number))
    }

    fn address(&mut self) -> Option<Address> {
        let (process, actor) = self.process_and("actor")?;
        Some(Address { process, actor })
    }

    fn future_id(&mut self) -> Option<FutureId> {
        let (process, id) = self.process_and("id")?;
        Some(FutureId { process, id })
    }
}
