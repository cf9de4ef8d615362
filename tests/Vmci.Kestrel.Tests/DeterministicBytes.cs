using System;
using System.Threading;
using System.Threading.Tasks;

namespace Vmci.Kestrel.Tests;

/// <summary>A long, reproducible byte sequence that is never held in memory whole: for transfers of a gibibyte.</summary>
internal static class DeterministicBytes
{
    private const int BlockSize = 1 << 16;

    private static byte[] Block(long index)
    {
        byte[] block = new byte[BlockSize];
        new Random(unchecked((int)index) * 7919).NextBytes(block);
        return block;
    }

    public static async Task WriteAsync(System.IO.Stream destination, long length, CancellationToken cancellationToken)
    {
        for (long offset = 0; offset < length; offset += BlockSize)
        {
            int count = (int)Math.Min(BlockSize, length - offset);
            await destination.WriteAsync(Block(offset / BlockSize).AsMemory(0, count), cancellationToken);
        }
    }

    /// <summary>A read-only stream of the sequence.</summary>
    public sealed class Stream(long length) : System.IO.Stream
    {
        private long _position;
        private byte[]? _block;
        private long _blockIndex = -1;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => length;

        public override long Position { get => _position; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            if (_position >= length)
            {
                return 0;
            }

            long index = _position / BlockSize;
            if (index != _blockIndex)
            {
                _block = Block(index);
                _blockIndex = index;
            }

            int inBlock = (int)(_position % BlockSize);
            int count = (int)Math.Min(Math.Min(buffer.Length, BlockSize - inBlock), length - _position);
            _block.AsSpan(inBlock, count).CopyTo(buffer);
            _position += count;
            return count;
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => new(Read(buffer.Span));

        public override void Flush()
        {
        }

        public override long Seek(long offset, System.IO.SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
