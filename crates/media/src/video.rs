//! Video frames in I420 (planar Y, then U and V at half resolution): what cameras are converted
//! to, what the encoder takes and what the decoder gives.

/// An I420 frame with tightly packed planes (stride = width, width / 2).
#[derive(Clone, PartialEq, Eq)]
pub struct I420Frame {
    width: usize,
    height: usize,
    /// Y, then U, then V.
    data: Vec<u8>,
}

impl std::fmt::Debug for I420Frame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "I420Frame({}x{})", self.width, self.height)
    }
}

impl I420Frame {
    /// A black frame. Width and height must be even (chroma is subsampled by two).
    pub fn black(width: usize, height: usize) -> Self {
        assert!(
            width > 0 && height > 0 && width.is_multiple_of(2) && height.is_multiple_of(2),
            "I420 needs even, non-zero dimensions, not {width}x{height}"
        );
        let y = width * height;
        let mut data = vec![16u8; y + y / 2];
        data[y..].fill(128);
        Self {
            width,
            height,
            data,
        }
    }

    /// A frame from planes with strides (e.g. a decoder's), copied into packed planes.
    pub fn from_planes(
        width: usize,
        height: usize,
        planes: [&[u8]; 3],
        strides: [usize; 3],
    ) -> Self {
        let mut f = Self::black(width, height);
        let (cw, ch) = (width / 2, height / 2);
        for row in 0..height {
            let src = &planes[0][row * strides[0]..row * strides[0] + width];
            f.y_mut()[row * width..(row + 1) * width].copy_from_slice(src);
        }
        for (plane, dst_off) in [(1usize, width * height), (2, width * height + cw * ch)] {
            for row in 0..ch {
                let src = &planes[plane][row * strides[plane]..row * strides[plane] + cw];
                let at = dst_off + row * cw;
                f.data[at..at + cw].copy_from_slice(src);
            }
        }
        f
    }

    /// Width in pixels.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> usize {
        self.height
    }

    /// The luma plane.
    pub fn y(&self) -> &[u8] {
        &self.data[..self.width * self.height]
    }

    /// The luma plane, writable.
    pub fn y_mut(&mut self) -> &mut [u8] {
        let n = self.width * self.height;
        &mut self.data[..n]
    }

    /// The chroma planes (U, V), writable.
    pub fn uv_mut(&mut self) -> (&mut [u8], &mut [u8]) {
        let n = self.width * self.height;
        let c = n / 4;
        let (_, uv) = self.data.split_at_mut(n);
        uv.split_at_mut(c)
    }

    /// The U plane.
    pub fn u(&self) -> &[u8] {
        let n = self.width * self.height;
        &self.data[n..n + n / 4]
    }

    /// The V plane.
    pub fn v(&self) -> &[u8] {
        let n = self.width * self.height;
        &self.data[n + n / 4..]
    }
}
