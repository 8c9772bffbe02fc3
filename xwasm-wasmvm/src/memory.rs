//! The memory that crosses the boundary, laid out as wasmvm's C header has
//! it: borrowed views of Go slices, Rust slices lent to Go callbacks, and
//! owned vectors that the library always allocates and frees.

/// A Go slice borrowed for one call. Nil differs from empty.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct ByteSliceView {
    pub is_nil: bool,
    pub ptr: *const u8,
    pub len: usize,
}

impl ByteSliceView {
    /// The bytes, `None` for nil.
    ///
    /// # Safety
    /// Unless nil, `ptr` must point to `len` readable bytes for the call
    /// (or be NULL with `len` 0, Go's empty slice).
    pub unsafe fn read(&self) -> Option<&[u8]> {
        if self.is_nil {
            None
        } else if self.ptr.is_null() || self.len == 0 {
            Some(&[])
        } else {
            // SAFETY: the caller's promise.
            Some(unsafe { std::slice::from_raw_parts(self.ptr, self.len) })
        }
    }

    pub fn new(bytes: &[u8]) -> Self {
        Self { is_nil: false, ptr: bytes.as_ptr(), len: bytes.len() }
    }

    pub fn nil() -> Self {
        Self { is_nil: true, ptr: std::ptr::null(), len: 0 }
    }
}

/// A Rust slice lent to a Go callback for the duration of the callback.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct U8SliceView {
    pub is_none: bool,
    pub ptr: *const u8,
    pub len: usize,
}

impl U8SliceView {
    pub fn new(bytes: Option<&[u8]>) -> Self {
        match bytes {
            Some(bytes) => Self { is_none: false, ptr: bytes.as_ptr(), len: bytes.len() },
            None => Self { is_none: true, ptr: std::ptr::null(), len: 0 },
        }
    }

    /// The bytes, `None` for none.
    ///
    /// # Safety
    /// As [`ByteSliceView::read`].
    pub unsafe fn read(&self) -> Option<&[u8]> {
        if self.is_none {
            None
        } else if self.ptr.is_null() || self.len == 0 {
            Some(&[])
        } else {
            // SAFETY: the caller's promise.
            Some(unsafe { std::slice::from_raw_parts(self.ptr, self.len) })
        }
    }
}

/// An owned `Option<Vec<u8>>` handed across the boundary; always allocated
/// and freed by this library. `cap == 0` means nothing was allocated.
#[repr(C)]
#[derive(Debug)]
pub struct UnmanagedVector {
    pub is_none: bool,
    pub ptr: *mut u8,
    pub len: usize,
    pub cap: usize,
}

impl Default for UnmanagedVector {
    /// None, nothing allocated: what every output starts as.
    fn default() -> Self {
        Self { is_none: true, ptr: std::ptr::null_mut(), len: 0, cap: 0 }
    }
}

impl UnmanagedVector {
    pub fn new(data: Option<Vec<u8>>) -> Self {
        match data {
            Some(data) => {
                let mut data = std::mem::ManuallyDrop::new(data);
                Self { is_none: false, ptr: data.as_mut_ptr(), len: data.len(), cap: data.capacity() }
            }
            None => Self::default(),
        }
    }

    pub fn some(data: impl Into<Vec<u8>>) -> Self {
        Self::new(Some(data.into()))
    }

    /// Takes the vector back, freeing nothing twice: `None` for none.
    ///
    /// # Safety
    /// The vector must come from [`UnmanagedVector::new`] (or be none or
    /// unallocated), and not be consumed before.
    pub unsafe fn consume(self) -> Option<Vec<u8>> {
        if self.is_none {
            None
        } else if self.cap == 0 {
            Some(Vec::new())
        } else {
            // SAFETY: allocated by `new` with this pointer, length and capacity.
            Some(unsafe { Vec::from_raw_parts(self.ptr, self.len, self.cap) })
        }
    }
}

/// Copies `length` bytes at `ptr` into a new vector (none when `nil`).
#[unsafe(no_mangle)]
pub extern "C" fn new_unmanaged_vector(nil: bool, ptr: *const u8, length: usize) -> UnmanagedVector {
    let built = std::panic::catch_unwind(|| {
        if nil {
            UnmanagedVector::new(None)
        } else if length == 0 || ptr.is_null() {
            UnmanagedVector::new(Some(Vec::new()))
        } else {
            // SAFETY: Go hands a pointer to `length` readable bytes.
            UnmanagedVector::new(Some(unsafe { std::slice::from_raw_parts(ptr, length) }.to_vec()))
        }
    });
    built.unwrap_or_default()
}

/// Frees a vector this library made; touches nothing when none or
/// unallocated.
#[unsafe(no_mangle)]
pub extern "C" fn destroy_unmanaged_vector(v: UnmanagedVector) {
    // SAFETY: Go hands back vectors this library made, once.
    let _ = std::panic::catch_unwind(move || drop(unsafe { v.consume() }));
}

/// The library's version, a static NUL-terminated string.
#[unsafe(no_mangle)]
pub extern "C" fn version_str() -> *const std::ffi::c_char {
    concat!("3.0.3+xwasm.", env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}
